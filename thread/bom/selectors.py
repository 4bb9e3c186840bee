"""Reads of eBOMs (snapshots, their lines, the part graph they form, exploded structures) and
of mapping rule sets, including the engine's inputs built from them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import OuterRef, QuerySet, Subquery

from thread.catalog.choices import LifecycleState, RevisionStatus
from thread.catalog.models import Part, PartRevision, PartUnitConversion, Plant, PlantPart
from thread.catalog.selectors import revisions_in_effect, unit_table
from thread.catalog.units import PartConversion

from . import engine
from .choices import OPEN_STATUSES, VersionStatus
from .engine.rules import ADD_ITEM, SUBSTITUTE
from .ingest import canonical_quantity
from .models import EBom, EBomLine, MappingRule, MappingRuleSet, MappingRuleSetVersion

PART_NAMING_ACTIONS = (SUBSTITUTE, ADD_ITEM)


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


# --- Mapping rule sets ------------------------------------------------------------------------

def rule_sets_list() -> QuerySet[MappingRuleSet]:
    """Rule sets with their current published version and their open (draft or pending)
    version, as annotations: one query for any number of rule sets."""
    versions = MappingRuleSetVersion.objects.filter(rule_set=OuterRef("pk"))
    published = versions.filter(status=VersionStatus.PUBLISHED)
    open_ = versions.filter(status__in=OPEN_STATUSES)
    return (MappingRuleSet.objects.select_related("plant")
            .annotate(current_number=Subquery(published.values("number")[:1]),
                      current_version_id=Subquery(published.values("pk")[:1]),
                      current_published_at=Subquery(published.values("published_at")[:1]),
                      open_version_id=Subquery(open_.values("pk")[:1]),
                      open_status=Subquery(open_.values("status")[:1])))


def rule_set_versions_list() -> QuerySet[MappingRuleSetVersion]:
    return MappingRuleSetVersion.objects.select_related(
        "rule_set__plant", "based_on", "created_by", "updated_by", "requested_by", "approved_by",
        "published_by")


def current_rule_set_version(*, plant: Plant) -> MappingRuleSetVersion | None:
    """The published version in force at `plant`, if it has one."""
    return (rule_set_versions_list()
            .filter(rule_set__plant=plant, status=VersionStatus.PUBLISHED).first())


def engine_rules(*, version: MappingRuleSetVersion) -> list[engine.Rule]:
    """A version's rules as the engine's plain data, in one query. Rule ids are the database
    ids, so an mBOM line's lineage names the stored rule."""
    return [engine.Rule(id=rule.pk, order=rule.order, name=rule.name, action=rule.action,
                        condition=rule.condition, params=rule.params, enabled=rule.enabled)
            for rule in MappingRule.objects.filter(version=version).order_by("order", "id")]


def compiled_rules_for(*, version: MappingRuleSetVersion) -> engine.CompiledRuleSet:
    """The version's enabled rules compiled for `map_ebom` (raises RuleSetError if one is
    malformed, which a published version never is)."""
    return engine.compile_rules(engine_rules(version=version))


def rule_part_numbers(rules: Iterable[Any]) -> set[str]:
    """The part numbers that rules name in their parameters (substitutes, added items): the
    parts the engine must know besides those in the eBOM. Takes anything with `action` and
    `params` (stored rules, engine rules, form input)."""
    return {rule.params["part"] for rule in rules
            if rule.action in PART_NAMING_ACTIONS and isinstance(rule.params, dict)
            and isinstance(rule.params.get("part"), str)}


def plant_context(*, plant: Plant, part_numbers: Iterable[str]) -> engine.PlantContext:
    """What the engine needs of the catalog and `plant` for these parts, in four queries: the
    unit table, the plant's data for the parts, their cross-dimension conversions, and the
    parts themselves as `known_parts` (obsolete parts are not known: a rule may no longer name
    them)."""
    numbers = set(part_numbers)
    plant_parts = {
        pp.part.number: engine.PlantPartData(active=pp.active, make_or_buy=pp.make_or_buy,
                                             unit=pp.unit.code if pp.unit else None)
        for pp in PlantPart.objects.filter(plant=plant, part__number__in=numbers)
        .select_related("part", "unit")}
    conversions: dict[str, list[PartConversion]] = {}
    for conversion in (PartUnitConversion.objects.filter(part__number__in=numbers)
                       .select_related("part", "from_unit", "to_unit")):
        conversions.setdefault(conversion.part.number, []).append(PartConversion(
            conversion.from_unit.code, conversion.to_unit.code, conversion.factor))
    known = {part.number: engine.KnownPart(base_unit=part.base_unit.code, category=part.category,
                                           make_or_buy=part.make_or_buy)
             for part in Part.objects.filter(number__in=numbers)
             .exclude(lifecycle_state=LifecycleState.OBSOLETE).select_related("base_unit")}
    return engine.PlantContext(plant=plant.code, units=unit_table(), part_conversions=conversions,
                               plant_parts=plant_parts, known_parts=known)


def version_authors(*, version: MappingRuleSetVersion) -> set[int]:
    """Ids of everyone who created, edited or submitted this version: the people who may not
    approve it (four-eyes). Rule edits are read from the rules' history, draft saves from the
    version's `updated_by` over its history."""
    authors = {version.created_by_id, version.requested_by_id}
    authors.update(MappingRule.history.filter(version_id=version.pk)
                   .values_list("history_user_id", flat=True).distinct())
    authors.update(MappingRuleSetVersion.history.filter(id=version.pk)
                   .values_list("updated_by_id", flat=True).distinct())
    return {user_id for user_id in authors if user_id is not None}


def engine_ebom(*, revision: PartRevision) -> engine.EBom:
    """The multi-level eBOM of `revision` as the engine's input (children resolved by
    `explode`, each assembly once)."""
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
