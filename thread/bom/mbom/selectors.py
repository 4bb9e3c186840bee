"""Reads for mBOMs: the rules in force and the plant's data as the engine's inputs, stored mBOMs
and versions, their lines and lineage, and the regeneration jobs."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from thread.bom import engine
from thread.bom.choices import VersionStatus
from thread.bom.engine.rules import ADD_ITEM, SUBSTITUTE
from thread.bom.mbom.diff import LineData
from thread.bom.models import (
    EBomLine,
    MappingRule,
    MappingRuleSetVersion,
    MBom,
    MBomLine,
    MBomVersion,
    RegenerationJob,
)
from thread.catalog.choices import LifecycleState, RevisionStatus
from thread.catalog.models import Part, PartRevision, PartUnitConversion, Plant, PlantPart
from thread.catalog.selectors import revision_in_effect, unit_table
from thread.catalog.units import PartConversion

PART_NAMING_ACTIONS = (SUBSTITUTE, ADD_ITEM)


def rule_set_versions_list() -> QuerySet[MappingRuleSetVersion]:
    return MappingRuleSetVersion.objects.select_related(
        "rule_set__plant", "based_on", "created_by", "updated_by", "requested_by", "approved_by",
        "published_by")


def current_rule_set_version(*, plant: Plant) -> MappingRuleSetVersion | None:
    """The published version in force at `plant`, if it has one."""
    return rule_set_versions_list().filter(rule_set__plant=plant, status=VersionStatus.PUBLISHED).first()


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


def revision_to_generate(*, part_number: str, label: str | None = None
                         ) -> tuple[Part | None, PartRevision | None]:
    """The part and the revision "generate now" is asked for: the labelled one, else the newest
    release (None where there is none)."""
    part = Part.objects.filter(number=part_number).first()
    if part is None:
        return None, None
    if label:
        return part, PartRevision.objects.filter(part=part, label=label).first()
    return part, revision_in_effect(part=part)
