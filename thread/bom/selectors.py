"""Reads of eBOMs (snapshots, their lines, the part graph they form, exploded structures) and
of mapping rule sets, including the engine's inputs built from them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet, Subquery

from thread.catalog.choices import LifecycleState, RevisionStatus
from thread.catalog.models import Part, PartRevision, PartUnitConversion, Plant, PlantPart
from thread.catalog.selectors import revision_in_effect, revisions_in_effect, unit_table
from thread.catalog.units import PartConversion

from . import engine
from .choices import OPEN_STATUSES, VersionStatus
from .engine.rules import ADD_ITEM, SUBSTITUTE
from .ingest import canonical_quantity
from .mbom_diff import LineData
from .models import (
    EBom,
    EBomLine,
    MappingRule,
    MappingRuleSet,
    MappingRuleSetVersion,
    MBom,
    MBomLine,
    MBomVersion,
    RegenerationJob,
)

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
    numbers = list(set(part_numbers))
    # Plain rows, not model instances (a 50,000-line product names ~25,000 parts).
    plant_parts = {
        number: engine.PlantPartData(active=active, make_or_buy=make_or_buy, unit=unit)
        for number, active, make_or_buy, unit in PlantPart.objects.filter(
            plant=plant, part__number__in=numbers).order_by().values_list(
            "part__number", "active", "make_or_buy", "unit__code")}
    conversions: dict[str, list[PartConversion]] = {}
    for number, from_unit, to_unit, factor in (
            PartUnitConversion.objects.filter(part__number__in=numbers).order_by("id")
            .values_list("part__number", "from_unit__code", "to_unit__code", "factor")):
        conversions.setdefault(number, []).append(PartConversion(from_unit, to_unit, factor))
    known = {number: engine.KnownPart(base_unit=base_unit, category=category,
                                      make_or_buy=make_or_buy)
             for number, base_unit, category, make_or_buy in Part.objects.filter(
                 number__in=numbers).exclude(lifecycle_state=LifecycleState.OBSOLETE)
             .values_list("number", "base_unit__code", "category", "make_or_buy")}
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


# --- mBOMs ------------------------------------------------------------------------------------

def mboms_list() -> QuerySet[MBom]:
    """mBOMs with their current version's id and number as annotations (one query)."""
    current = MBomVersion.objects.filter(mbom=OuterRef("pk"), is_current=True)
    return (MBom.objects.select_related("revision__part", "plant")
            .annotate(current_version_id=Subquery(current.values("pk")[:1]),
                      current_number=Subquery(current.values("number")[:1]),
                      current_created_at=Subquery(current.values("created_at")[:1])))


def mbom_versions_list() -> QuerySet[MBomVersion]:
    return MBomVersion.objects.select_related(
        "mbom__revision__part", "mbom__plant", "rule_set_version__rule_set__plant",
        "root__part", "created_by", "cause_type")


def mbom_lines(*, version_ids: Iterable[int]) -> QuerySet[MBomLine]:
    return (MBomLine.objects.filter(version_id__in=list(version_ids))
            .select_related("part", "unit", "substitutes_for").order_by("version_id", "position"))


def current_mbom_versions(*, plant: Plant, revision_ids: Iterable[int]) -> dict[int, MBomVersion]:
    """The current version of each revision's mBOM at `plant`, by revision id."""
    return {v.mbom.revision_id: v for v in
            MBomVersion.objects.filter(mbom__plant=plant, mbom__revision_id__in=list(revision_ids),
                                       is_current=True).select_related("mbom")}


def line_data(line: MBomLine) -> LineData:
    """A stored line as the diff's plain data (part, unit and substitute loaded with it)."""
    return LineData(
        position=line.position, part=line.part.number, quantity=line.quantity,
        unit=line.unit.code, item_type=line.item_type, make_or_buy=line.make_or_buy,
        scrap_percent=line.scrap_percent, yield_percent=line.yield_percent,
        operation=line.operation, erp_fields=line.erp_fields,
        substitutes_for=line.substitutes_for.number if line.substitutes_for else None,
        added_by_rule=line.added_by_rule_id,
        reference_designators=tuple(line.reference_designators), lineage=line.lineage)


def version_line_data(*, version_ids: Iterable[int]) -> dict[int, list[LineData]]:
    found: dict[int, list[LineData]] = {}
    for line in mbom_lines(version_ids=version_ids):
        found.setdefault(line.version_id, []).append(line_data(line))
    return found


@dataclass(frozen=True)
class LineageLookup:
    """What an auditor reads behind an mBOM line's lineage: the eBOM lines (with their snapshot,
    parent revision and find number) and the rules (with their order and rule-set version),
    by id; read in two queries for any number of lines."""

    ebom_lines: dict[int, dict[str, Any]]
    rules: dict[int, dict[str, Any]]

    def sources(self, lineage: dict[str, Any]) -> list[list[dict[str, Any]]]:
        """Each path of the lineage as its eBOM lines, from the made assembly down."""
        missing = {"id": None, "part": "?", "find_number": None}
        return [[self.ebom_lines.get(line_id, {**missing, "id": line_id}) for line_id in path]
                for path in lineage.get("paths", [])]

    def rules_of(self, lineage: dict[str, Any]) -> list[dict[str, Any]]:
        return [self.rules.get(rule_id, {"id": rule_id, "name": "?", "order": None})
                for rule_id in lineage.get("rule_ids", [])]


def lineage_lookup(*, lineages: Iterable[dict[str, Any]],
                   extra_rule_ids: Iterable[int] = ()) -> LineageLookup:
    line_ids: set[int] = set()
    rule_ids: set[int] = set(extra_rule_ids)
    for lineage in lineages:
        for path in lineage.get("paths", []):
            line_ids.update(path)
        rule_ids.update(lineage.get("rule_ids", []))
    ebom_lines = {
        row["id"]: {"id": row["id"], "ebom_id": row["ebom_id"],
                    "ebom_number": row["ebom__number"],
                    "parent_part": row["ebom__revision__part__number"],
                    "parent_revision": row["ebom__revision__label"],
                    "find_number": row["find_number"], "part": row["part__number"],
                    "quantity": row["quantity"], "unit": row["unit__code"],
                    "item_type": row["item_type"]}
        for row in EBomLine.objects.filter(pk__in=line_ids).values(
            "id", "ebom_id", "ebom__number", "ebom__revision__part__number",
            "ebom__revision__label", "find_number", "part__number", "quantity", "unit__code",
            "item_type")} if line_ids else {}
    rules = {
        row["id"]: {"id": row["id"], "name": row["name"], "order": row["order"],
                    "action": row["action"], "rule_set_version_id": row["version_id"],
                    "rule_set_version": row["version__number"],
                    "rule_set_status": row["version__status"],
                    "plant": row["version__rule_set__plant__code"]}
        for row in MappingRule.objects.filter(pk__in=rule_ids).values(
            "id", "name", "order", "action", "version_id", "version__number", "version__status",
            "version__rule_set__plant__code")} if rule_ids else {}
    return LineageLookup(ebom_lines=ebom_lines, rules=rules)


def released_products(*, plant: Plant) -> QuerySet[PartRevision]:
    """The plant's products, for regeneration: released revisions with a current eBOM whose
    part is not a child in the current eBOM of any released revision (top-level assemblies),
    leaving out parts the plant has marked inactive. In id order (the job's cursor)."""
    children = EBomLine.objects.filter(ebom__is_current=True,
                                       ebom__revision__status=RevisionStatus.RELEASED)
    inactive = PlantPart.objects.filter(plant=plant, active=False)
    return (PartRevision.objects.select_related("part__base_unit")
            .filter(status=RevisionStatus.RELEASED, eboms__is_current=True)
            .exclude(part_id__in=children.values("part_id"))
            .exclude(part_id__in=inactive.values("part_id"))
            .order_by("id"))


def regeneration_jobs_list() -> QuerySet[RegenerationJob]:
    return RegenerationJob.objects.select_related("plant", "rule_set_version__rule_set__plant",
                                                  "created_by")
