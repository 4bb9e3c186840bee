"""Reads of eBOMs: snapshots, their lines, the part graph they form, exploded structures, and a
structure as the mapping engine's input."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet

from thread.bom import engine
from thread.bom.ebom.ingest import canonical_quantity
from thread.bom.models import (
    EBom,
    EBomLine,
    ReleaseGeneration,
)
from thread.catalog.choices import RevisionStatus
from thread.catalog.models import Part, PartRevision
from thread.catalog.selectors import revision_in_effect, revisions_in_effect


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
    """Each snapshot's lines as the comparable tuples `thread.bom.ebom.ingest.LineIn.content` makes."""
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


def revision_to_show(*, part: Part, label: str | None = None,
                     as_of: date | None = None) -> PartRevision | None:
    """The revision an explosion, preview or check is about: the one labelled `label` if given,
    else the one in effect `as_of`, a draft where nothing is released (previews are how people
    and the PLM look at drafts)."""
    if label:
        return (PartRevision.objects.select_related("part__base_unit")
                .filter(part=part, label=label).first())
    return revision_in_effect(part=part, as_of=as_of, include_drafts=True)


def explode(*, revision: PartRevision, as_of: date | str | None = None) -> ExplodedStructure:
    """Explode from `revision`: children resolve through `revisions_in_effect` as of `as_of`
    (drafts included, for previews), a whole level per query batch, never a query per line.
    Lines are read as plain rows, not model instances: at 50,000 lines building the instances
    cost more than everything else the mapping does (docs/mbom.md)."""
    structure = ExplodedStructure(root=revision.part.number)
    level = {revision.part_id: revision}
    seen: set[int] = set()
    has_revisions = Exists(PartRevision.objects.filter(part_id=OuterRef("part_id")))
    while level:
        seen.update(level)
        snapshots = current_eboms(revision_ids=[r.pk for r in level.values()])
        lines_by_ebom: dict[int, list[tuple]] = {}
        for row in (EBomLine.objects.filter(ebom_id__in=[e.pk for e in snapshots.values()])
                    .annotate(child_has_revisions=has_revisions)
                    .order_by("ebom_id", "find_number")
                    .values_list(*_EXPLODED_COLUMNS)):
            lines_by_ebom.setdefault(row[1], []).append(row)
        next_parts: set[int] = set()
        for rev in level.values():
            snapshot = snapshots.get(rev.pk)
            rows = lines_by_ebom.get(snapshot.pk, []) if snapshot else []
            number, label = rev.part.number, rev.label
            structure.assemblies[number] = Assembly(
                part=number, revision=label, revision_id=rev.pk,
                revision_status=rev.status, revision_attributes=rev.attributes,
                ebom_id=snapshot.pk if snapshot else None,
                ebom_number=snapshot.number if snapshot else None,
                lines=tuple(ExplodedLine(
                    line_id, ebom_id, number, label, find_number, part, part_name, quantity,
                    unit, item_type, tuple(designators), attributes, category, base_unit,
                    make_or_buy)
                    for (line_id, ebom_id, find_number, part, part_name, quantity, unit, item_type,
                         designators, attributes, category, base_unit, make_or_buy, _, _)
                    in rows))
            # Only a part with a revision can resolve to one: leaving the others out keeps the
            # next level's query small (most lines of a large structure are bought leaves).
            next_parts.update(row[13] for row in rows if row[14])
        level = revisions_in_effect(part_ids=next_parts - seen, as_of=as_of,
                                    include_drafts=True)
    return structure


# What `explode` reads per line: ExplodedLine's own columns, then the child part's id and
# whether it has any revision.
_EXPLODED_COLUMNS = ("id", "ebom_id", "find_number", "part__number", "part__name", "quantity",
                     "unit__code", "item_type", "reference_designators", "attributes",
                     "part__category", "part__base_unit__code", "part__make_or_buy", "part_id",
                     "child_has_revisions")


def engine_ebom(*, revision: PartRevision,
                structure: ExplodedStructure | None = None) -> engine.EBom:
    """The multi-level eBOM of `revision` as the engine's input (children resolved by
    `explode`, each assembly once). Pass the `structure` when the caller has exploded it
    already (generation keeps it for the revisions and snapshots it records)."""
    if structure is None:
        structure = explode(revision=revision)
    lines_by_parent = {
        assembly.part: tuple(engine.EBomLine(
            id=line.line_id, parent_part=line.parent_part, find_number=line.find_number,
            part=line.part, quantity=line.quantity, unit=line.unit, part_base_unit=line.base_unit,
            item_type=line.item_type, reference_designators=line.reference_designators,
            attributes=line.attributes, part_category=line.category,
            part_make_or_buy=line.make_or_buy) for line in assembly.lines)
        for assembly in structure.assemblies.values()}
    return engine.EBom(
        root_part=revision.part.number, root_base_unit=revision.part.base_unit.code,
        root_category=revision.part.category, lines_by_parent=lines_by_parent,
        revision_attributes={a.part: a.revision_attributes
                             for a in structure.assemblies.values()})


def release_generations(*, revision_ids: Iterable[int]) -> list[ReleaseGeneration]:
    """What the release of these revisions did to the mBOMs, per product and plant (written by
    the release itself, see `thread.bom.mbom.services`)."""
    return list(ReleaseGeneration.objects.filter(released__in=list(revision_ids)).distinct()
                .select_related("plant", "product__part", "mbom_version").order_by("id"))
