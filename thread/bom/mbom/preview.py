"""The read-only companions of mBOM generation: the preview of a rule-set version (a draft too)
with its diff against the current mBOMs, the diff of two versions, and the accountability
check. Nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from thread.bom import engine
from thread.bom.engine.rules import SUBSTITUTE
from thread.bom.engine.types import MAKE
from thread.bom.mbom import selectors
from thread.bom.mbom.diff import MBomDiff, diff_lines
from thread.bom.mbom.generation import (
    Mapped,
    Proposal,
    lineage_json,
    map_product,
    proposals,
    published_version_for,
)
from thread.bom.models import MappingRule, MappingRuleSetVersion, MBomLine, MBomVersion
from thread.catalog.choices import RevisionStatus
from thread.catalog.models import PartRevision, Plant
from thread.catalog.units import UnitMismatch, convert
from thread.errors import DomainError, ErrorItem, InvalidInput

# Exact Decimal arithmetic can leave a remainder in the last of 28 digits once a yield is
# undone (divided by 0.65, then multiplied by it): smaller differences are not mismatches.
QUANTITY_TOLERANCE = Decimal("1e-12")



@dataclass(frozen=True)
class PreviewAssembly:
    proposal: Proposal
    current: MBomVersion | None
    diff: MBomDiff
    would_store: bool  # released, and its inputs differ from the current version's

    @property
    def part(self) -> str:
        return self.proposal.part


@dataclass(frozen=True)
class Preview:
    revision: PartRevision
    plant: Plant
    rule_set_version: MappingRuleSetVersion
    as_of: date
    assemblies: list[PreviewAssembly]
    warnings: list[engine.MappingWarning]
    accountability: AccountabilityReport
    lineage: selectors.LineageLookup


def mbom_preview(*, revision: PartRevision, plant: Plant,
                 rule_set_version: MappingRuleSetVersion, as_of: date | None = None) -> Preview:
    """What `rule_set_version` (a draft too) would make of `revision` (a draft too) at `plant`,
    next to the current stored mBOMs, with the diff, the accountability check and the lineage
    of both sides resolved. Writes nothing."""
    if rule_set_version.rule_set.plant_id != plant.pk:
        raise InvalidInput(f"{rule_set_version} belongs to another plant than {plant.code}.",
                           [ErrorItem("/rule_set_version", "other_plant", "Other plant.")])
    mapped = map_product(revision=revision, plant=plant, rule_set_version=rule_set_version,
                         as_of=as_of)
    proposed = proposals(mapped)
    currents = selectors.current_mbom_versions(plant=plant,
                                               revision_ids=[p.revision_id for p in proposed])
    stored = selectors.version_line_data(version_ids=[v.pk for v in currents.values()])
    assemblies = []
    for proposal in proposed:
        current = currents.get(proposal.revision_id)
        old = stored.get(current.pk, []) if current is not None else []
        assemblies.append(PreviewAssembly(
            proposal=proposal, current=current, diff=diff_lines(old, proposal.line_data()),
            would_store=proposal.storable and (current is None
                                               or current.fingerprint != proposal.fingerprint)))
    lineages = [line.lineage for lines in stored.values() for line in lines]
    lineages += [lineage_json(line.lineage) for p in proposed for line in p.lines]
    return Preview(revision=revision, plant=plant, rule_set_version=rule_set_version,
                   as_of=mapped.as_of, assemblies=assemblies,
                   warnings=list(mapped.result.warnings),
                   accountability=_report(mapped, mapped.result, stored=False),
                   lineage=selectors.lineage_lookup(lineages=lineages))


# Products previewed on one page; a larger plant says how many it left out (paging very large
# previews belongs with the speed work).
PLANT_PREVIEW_LIMIT = 50


@dataclass(frozen=True)
class ProductSummary:
    preview: Preview

    @property
    def changed(self) -> list[PreviewAssembly]:
        return [a for a in self.preview.assemblies if not a.diff.is_empty]

    def lines(self, kind: str) -> int:
        return sum(a.diff.count(kind) for a in self.preview.assemblies)


@dataclass(frozen=True)
class PlantPreview:
    """What a rule-set version would do to a plant's products, summed up on top."""

    plant: Plant
    rule_set_version: MappingRuleSetVersion
    products: list[ProductSummary]
    total: int  # released products of the plant
    refused: list[tuple[PartRevision, str]]  # products that could not be mapped, and why

    @property
    def summary(self) -> dict[str, int]:
        return {
            "products": len(self.products),
            "products_changed": sum(1 for p in self.products if p.changed),
            "lines_added": sum(p.lines("added") for p in self.products),
            "lines_removed": sum(p.lines("removed") for p in self.products),
            "lines_changed": sum(p.lines("changed") for p in self.products),
            "warnings": sum(len(p.preview.warnings) for p in self.products),
            "accountability_problems": sum(1 for p in self.products
                                           if not p.preview.accountability.ok),
            "refused": len(self.refused),
            "left_out": max(0, self.total - len(self.products) - len(self.refused)),
        }


def plant_preview(*, plant: Plant, rule_set_version: MappingRuleSetVersion,
                  limit: int = PLANT_PREVIEW_LIMIT) -> PlantPreview:
    """`mbom_preview` of each released product of the plant (up to `limit`), with the totals an
    analyst reads before publishing. Writes nothing."""
    products = selectors.released_products(plant=plant)
    total = products.count()
    summaries, refused = [], []
    for revision in products.select_related("part")[:limit]:
        try:
            summaries.append(ProductSummary(mbom_preview(
                revision=revision, plant=plant, rule_set_version=rule_set_version)))
        except DomainError as exc:  # one product that cannot map must not hide the others
            refused.append((revision, exc.detail))
    return PlantPreview(plant=plant, rule_set_version=rule_set_version, products=summaries,
                        total=total, refused=refused)


def mbom_version_diff(*, old: MBomVersion, new: MBomVersion) -> MBomDiff:
    """What changed from `old` to `new` (any two stored versions, also of different mBOMs)."""
    lines = selectors.version_line_data(version_ids=[old.pk, new.pk])
    return diff_lines(lines.get(old.pk, []), lines.get(new.pk, []))


# --- Accountability --------------------------------------------------------------------------

@dataclass(frozen=True)
class QuantityMismatch:
    """A terminal item whose total per product differs between the eBOM explosion and the
    mBOMs (both in the part's base unit, scrap and rounding taken out, substitutes mapped back,
    added items left out)."""

    part: str
    unit: str
    ebom_quantity: Decimal
    mbom_quantity: Decimal


@dataclass(frozen=True)
class AccountabilityReport:
    revision: PartRevision
    plant: Plant
    rule_set_version: MappingRuleSetVersion | None  # None: the stored mBOMs were checked
    problems: list[dict[str, Any]]
    mismatches: list[QuantityMismatch]
    warnings: list[engine.MappingWarning]

    @property
    def ok(self) -> bool:
        return not self.problems and not self.mismatches


def accountability(*, revision: PartRevision, plant: Plant,
                   rule_set_version: MappingRuleSetVersion | None = None,
                   as_of: date | None = None) -> AccountabilityReport:
    """Does every eBOM line of `revision` end in exactly one place at `plant`, and do the
    quantities agree? With `rule_set_version`: a fresh mapping with those rules (a draft's too:
    the publish check). Without: the stored current mBOMs, i.e. what the ERP was sent,
    against the current eBOM. Writes nothing."""
    if rule_set_version is not None:
        mapped = map_product(revision=revision, plant=plant, rule_set_version=rule_set_version,
                             as_of=as_of)
        return _report(mapped, mapped.result, stored=False)
    mapped = map_product(revision=revision, plant=plant,
                         rule_set_version=published_version_for(plant), as_of=as_of)
    return _report(mapped, _stored_result(mapped), stored=True)


def _stored_result(mapped: Mapped) -> engine.MappingResult:
    """The stored current mBOMs of the product's structure as the engine's result shape. A
    made assembly without a stored mBOM is missing, which the check reports."""
    assemblies = mapped.structure.assemblies
    by_revision = {assemblies[part].revision_id: part for part in mapped.result.mboms}
    currents = selectors.current_mbom_versions(plant=mapped.plant, revision_ids=by_revision)
    rows: dict[int, list[MBomLine]] = {}
    for line in selectors.mbom_lines(version_ids=[v.pk for v in currents.values()]):
        rows.setdefault(line.version_id, []).append(line)
    mboms: dict[str, engine.MBom] = {}
    set_aside: list[engine.Disposition] = []
    for revision_id, version in currents.items():
        part = by_revision[revision_id]
        mboms[part] = engine.MBom(part, mapped.result.mboms[part].base_unit,
                                  tuple(_engine_line(row) for row in rows.get(version.pk, [])))
        set_aside.extend(engine.Disposition(kind, part, tuple(path), rule_id=rule_id,
                                            bought_line_id=bought)
                         for kind, path, rule_id, bought in version.set_aside)
    ordered = {part: mboms[part] for part in mapped.result.mboms if part in mboms}
    return engine.MappingResult(plant=mapped.plant.code, root_part=mapped.result.root_part,
                                mboms=ordered, set_aside=tuple(set_aside), warnings=())


def _engine_line(row: MBomLine) -> engine.MBomLine:
    paths = tuple(tuple(path) for path in row.lineage.get("paths", []))
    rule_ids = tuple(row.lineage.get("rule_ids", []))
    if len(paths) == 1:
        lineage = engine.Lineage(paths[0], rule_ids)
    else:
        lineage = engine.Lineage(tuple(dict.fromkeys(i for path in paths for i in path)),
                                 rule_ids, paths)
    return engine.MBomLine(
        position=row.position, part=row.part.number, quantity=row.quantity, unit=row.unit.code,
        item_type=row.item_type, make_or_buy=row.make_or_buy, lineage=lineage,
        unrounded_quantity=row.unrounded_quantity, scrap_percent=row.scrap_percent,
        yield_percent=row.yield_percent, operation=row.operation, erp_fields=row.erp_fields,
        reference_designators=tuple(row.reference_designators),
        substitutes_for=row.substitutes_for.number if row.substitutes_for else None,
        added_by_rule=row.added_by_rule_id)


def _report(mapped: Mapped, result: engine.MappingResult, *, stored: bool) -> AccountabilityReport:
    lines = {line.id: line for lines in mapped.ebom.lines_by_parent.values() for line in lines}
    problems = []
    for problem in engine.check_accountability(mapped.ebom, result):
        line = lines.get(problem.line_id) if problem.line_id is not None else None
        problems.append({
            "message": problem.message, "line_id": problem.line_id,
            "assembly": problem.assembly, "path": list(problem.path),
            "part": line.part if line else None, "parent": line.parent_part if line else None,
            "find_number": line.find_number if line else None})
    if not stored and mapped.revision.status != RevisionStatus.DRAFT:
        assemblies = mapped.structure.assemblies
        problems.extend({
            "message": f"{part} rev {assemblies[part].revision} is a draft: its mBOM is not "
                       "stored, so its eBOM lines reach no mBOM the ERP receives",
            "line_id": None, "assembly": part, "path": [], "part": part, "parent": None,
            "find_number": None}
            for part in mapped.result.mboms
            if assemblies[part].revision_status == RevisionStatus.DRAFT)
    missing = [part for part in mapped.result.mboms if part not in result.mboms]
    problems.extend({"message": f"no stored mBOM for made assembly {part}", "line_id": None,
                     "assembly": part, "path": [], "part": part, "parent": None,
                     "find_number": None} for part in missing)
    return AccountabilityReport(
        revision=mapped.revision, plant=mapped.plant,
        rule_set_version=None if stored else mapped.rule_set_version, problems=problems,
        mismatches=[] if missing else quantity_mismatches(mapped, result),
        warnings=[] if stored else list(result.warnings))


def quantity_mismatches(mapped: Mapped, result: engine.MappingResult) -> list[QuantityMismatch]:
    """Terminal totals of the eBOM explosion against those of the mBOMs multiplied up through
    their made assemblies: what conversion, scrap, rounding, substitution and consolidation
    did must cancel out once undone."""
    context, ebom = mapped.context, mapped.ebom
    excluded = {d.path[-1] for d in result.set_aside if d.kind == "excluded"}
    bought = {d.bought_line_id for d in result.set_aside if d.kind == "inside_bought"}
    expected = engine.explode(ebom, context.units, context.part_conversions,
                              is_bought=lambda line: line.id in bought,
                              is_excluded=lambda line: line.id in excluded)
    factors = _substitute_factors(mapped, result)
    base_units = {line.part: line.part_base_unit for lines in ebom.lines_by_parent.values()
                  for line in lines}
    totals: dict[str, dict[str, Decimal]] = {}

    def total(assembly: str) -> dict[str, Decimal]:
        found = totals.get(assembly)
        if found is not None:
            return found
        found = {}
        for line in result.mboms[assembly].lines:
            if line.added_by_rule is not None:
                continue
            quantity = line.unrounded_quantity
            if line.scrap_percent is not None:
                quantity /= 1 + line.scrap_percent / 100
            if line.yield_percent is not None:
                quantity = quantity * line.yield_percent / 100
            part = line.substitutes_for or line.part
            if line.substitutes_for is not None:
                quantity /= factors.get(line.lineage.rule_ids, Decimal(1))
            base = base_units.get(part) or context.known_parts[part].base_unit
            try:
                quantity = convert(quantity, line.unit, base, context.units,
                                   context.part_conversions.get(part, ()))
            except UnitMismatch:
                continue  # the engine warned already: the line kept a unit it cannot convert
            if line.part in result.mboms and line.make_or_buy == MAKE and \
                    line.substitutes_for is None:
                for item, below in total(line.part).items():
                    found[item] = found.get(item, Decimal(0)) + quantity * below
            else:
                found[part] = found.get(part, Decimal(0)) + quantity
        totals[assembly] = found
        return found

    actual = total(result.root_part) if result.root_part in result.mboms else {}
    mismatches = []
    for part in sorted(set(expected) | set(actual)):
        want, got = expected.get(part, Decimal(0)), actual.get(part, Decimal(0))
        if abs(want - got) > QUANTITY_TOLERANCE * max(Decimal(1), abs(want)):
            mismatches.append(QuantityMismatch(part=part, unit=base_units.get(part, ""),
                                               ebom_quantity=want, mbom_quantity=got))
    return mismatches


def _substitute_factors(mapped: Mapped, result: engine.MappingResult
                        ) -> dict[tuple[int, ...], Decimal]:
    """The substitute factor of each substituted line, by its lineage's rule ids (the one
    substitute rule among them applied). Stored lines may name rules of an older version, so
    those are read by id."""
    rules = {rule.id: rule for rule in mapped.rules}
    wanted = {rule_id for mbom in result.mboms.values() for line in mbom.lines
              if line.substitutes_for for rule_id in line.lineage.rule_ids} - set(rules)
    if wanted:
        rules.update({rule.pk: rule for rule in MappingRule.objects.filter(pk__in=wanted)})
    factors = {}
    for mbom in result.mboms.values():
        for line in mbom.lines:
            if line.substitutes_for is None:
                continue
            for rule_id in line.lineage.rule_ids:
                rule = rules.get(rule_id)
                if rule is not None and rule.action == SUBSTITUTE:
                    factors[line.lineage.rule_ids] = Decimal(str(rule.params.get("factor", 1)))
    return factors


def products_impact(*, version: MappingRuleSetVersion,
                    limit: int | None = None) -> list[AccountabilityReport]:
    """The accountability check of every released product of the version's plant with the
    version's rules: what the analyst sees before a publish is confirmed."""
    plant = version.rule_set.plant
    products = selectors.released_products(plant=plant)
    if limit is not None:
        products = products[:limit]
    return [accountability(revision=product, plant=plant, rule_set_version=version)
            for product in products]
