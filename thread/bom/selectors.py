"""Reads of eBOMs: snapshots, their lines, the part graph they form, exploded structures."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import QuerySet

from thread.catalog.choices import RevisionStatus
from thread.catalog.models import Part, PartRevision
from thread.catalog.selectors import revisions_in_effect

from .ingest import canonical_quantity
from .models import EBom, EBomLine


def eboms_list() -> QuerySet[EBom]:
    return EBom.objects.select_related("revision__part", "created_by")


def ebom_lines(*, ebom_ids: Iterable[int]) -> QuerySet[EBomLine]:
    return (EBomLine.objects.filter(ebom_id__in=list(ebom_ids))
            .select_related("part", "unit").order_by("ebom_id", "find_number"))


def current_eboms(*, revision_ids: Iterable[int]) -> dict[int, EBom]:
    """The current snapshot of each revision that has one, by revision id."""
    return {e.revision_id: e for e in
            EBom.objects.filter(revision_id__in=list(revision_ids), is_current=True)}


def ebom_line_contents(*, ebom_ids: Iterable[int]) -> dict[int, list[tuple]]:
    """Each snapshot's lines as the comparable tuples `thread.bom.ingest.LineIn.content` makes."""
    contents: dict[int, list[tuple]] = {}
    for row in (EBomLine.objects.filter(ebom_id__in=list(ebom_ids))
                .values_list("ebom_id", "find_number", "part__number", "quantity", "unit__code",
                             "item_type", "reference_designators", "attributes")):
        ebom_id, find, part, quantity, unit, item_type, designators, attributes = row
        contents.setdefault(ebom_id, []).append(
            (find, part, canonical_quantity(quantity), unit, item_type, designators, attributes))
    return contents


def structure_edges(*, part_ids: Iterable[int]) -> list[tuple[int, str, str]]:
    """Every (revision id, parent part number, child part number) edge of the current eBOMs
    reachable from `part_ids`, over all revisions that are not obsolete, in one recursive
    query. UNION (not UNION ALL) keeps each part once, so the walk ends even on a cycle."""
    ids = sorted(set(part_ids))
    if not ids:
        return []
    placeholders = ", ".join(["%s"] * len(ids))
    part, revision = Part._meta.db_table, PartRevision._meta.db_table
    ebom, line = EBom._meta.db_table, EBomLine._meta.db_table
    sql = f"""
        WITH RECURSIVE reached(part_id) AS (
            SELECT id FROM {part} WHERE id IN ({placeholders})
            UNION
            SELECT l.part_id FROM reached
            JOIN {revision} r ON r.part_id = reached.part_id AND r.status <> %s
            JOIN {ebom} e ON e.revision_id = r.id AND e.is_current
            JOIN {line} l ON l.ebom_id = e.id
        )
        SELECT DISTINCT r.id, pp.number, cp.number
        FROM reached
        JOIN {revision} r ON r.part_id = reached.part_id AND r.status <> %s
        JOIN {ebom} e ON e.revision_id = r.id AND e.is_current
        JOIN {line} l ON l.ebom_id = e.id
        JOIN {part} pp ON pp.id = r.part_id
        JOIN {part} cp ON cp.id = l.part_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*ids, RevisionStatus.OBSOLETE, RevisionStatus.OBSOLETE])
        return [(rev_id, parent, child) for rev_id, parent, child in cursor.fetchall()]


# --- Explosion ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ExplodedLine:
    """One eBOM line with what the mapping engine needs of its part, as plain data."""

    line_id: int
    ebom_id: int
    parent_part: str
    parent_revision: str
    find_number: int
    part: str
    part_name: str
    quantity: Decimal
    unit: str
    item_type: str
    reference_designators: tuple[str, ...]
    attributes: dict[str, Any]
    category: str
    base_unit: str
    make_or_buy: str


@dataclass(frozen=True, slots=True)
class Assembly:
    part: str
    revision: str
    revision_id: int
    revision_status: str
    revision_attributes: dict[str, Any]
    ebom_id: int | None
    ebom_number: int | None
    lines: tuple[ExplodedLine, ...]


@dataclass(frozen=True, slots=True)
class Occurrence:
    level: int  # 1 = a direct child of the root
    path: tuple[int, ...]  # find numbers from the root
    line: ExplodedLine
    revision: str | None  # the child's revision in effect, None for a part without revisions


@dataclass
class ExplodedStructure:
    """A multi-level structure: each assembly once (its revision in effect and its current
    eBOM), keyed by part number. `walk()` lists every occurrence depth-first."""

    root: str
    assemblies: dict[str, Assembly] = field(default_factory=dict)

    def walk(self, limit: int | None = None) -> Iterator[Occurrence]:
        root = self.assemblies.get(self.root)
        if root is None:
            return
        emitted = 0
        stack = [(iter(root.lines), 0, (), (self.root,))]
        while stack:
            lines, level, path, ancestors = stack[-1]
            line = next(lines, None)
            if line is None:
                stack.pop()
                continue
            child = self.assemblies.get(line.part)
            here = (*path, line.find_number)
            yield Occurrence(level=level + 1, path=here, line=line,
                             revision=child.revision if child else None)
            emitted += 1
            if limit is not None and emitted >= limit:
                return
            if child is not None and line.part not in ancestors:  # cycle guard
                stack.append((iter(child.lines), level + 1, here, (*ancestors, line.part)))


def explode(*, revision: PartRevision) -> ExplodedStructure:
    """Explode from `revision`: children resolve through `revisions_in_effect` (drafts
    included, for previews), a whole level per query batch, never a query per line."""
    structure = ExplodedStructure(root=revision.part.number)
    level = {revision.part_id: revision}
    seen: set[int] = set()
    while level:
        seen.update(level)
        snapshots = current_eboms(revision_ids=[r.pk for r in level.values()])
        lines_by_ebom: dict[int, list[EBomLine]] = {}
        for line in (ebom_lines(ebom_ids=[e.pk for e in snapshots.values()])
                     .select_related("part__base_unit")):
            lines_by_ebom.setdefault(line.ebom_id, []).append(line)
        next_parts: set[int] = set()
        for rev in level.values():
            snapshot = snapshots.get(rev.pk)
            lines = lines_by_ebom.get(snapshot.pk, []) if snapshot else []
            structure.assemblies[rev.part.number] = Assembly(
                part=rev.part.number, revision=rev.label, revision_id=rev.pk,
                revision_status=rev.status, revision_attributes=rev.attributes,
                ebom_id=snapshot.pk if snapshot else None,
                ebom_number=snapshot.number if snapshot else None,
                lines=tuple(_exploded(line, rev) for line in lines))
            next_parts.update(line.part_id for line in lines)
        level = revisions_in_effect(part_ids=next_parts - seen, include_drafts=True)
    return structure


def _exploded(line: EBomLine, revision: PartRevision) -> ExplodedLine:
    return ExplodedLine(
        line_id=line.pk, ebom_id=line.ebom_id, parent_part=revision.part.number,
        parent_revision=revision.label, find_number=line.find_number, part=line.part.number,
        part_name=line.part.name, quantity=line.quantity, unit=line.unit.code,
        item_type=line.item_type, reference_designators=tuple(line.reference_designators),
        attributes=line.attributes, category=line.part.category,
        base_unit=line.part.base_unit.code, make_or_buy=line.part.make_or_buy)
