"""mBOM generation: from a product's eBOM and a plant's rules to stored, versioned mBOMs, and the
read-only companions of it (preview with diff, version diff, accountability check).

Generating for a top-level product maps its whole structure once and yields the mBOM of every
made assembly beneath it at one plant. Each made assembly's inputs are fingerprinted: the eBOM
snapshots of the assemblies below it, the rule-set version, and the plant's catalog data for
the parts involved. An unchanged fingerprint makes no new version; a changed one makes a new
version, and only a version whose ERP content differs from its predecessor's is sent (a publish
that changes nothing the ERP holds still records the new rules in the lineage, silently).

Only released (or superseded, still in effect) revisions' mBOMs are stored and sent. A draft is
previewed (`mbom_preview`), never stored: its eBOM changes with every push, and a stored version
would claim an authority that a draft does not have.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from thread.catalog.choices import RevisionStatus
from thread.catalog.effectivity import plant_today
from thread.catalog.models import Part, PartRevision, Plant, UnitOfMeasure
from thread.catalog.units import UnitMismatch, convert
from thread.errors import ErrorItem, InvalidInput, StateConflict
from thread.flows.models import OutboundMessage
from thread.flows.outbox import NewOutboundMessage, outbound_messages_write
from thread.history import require_reason

from . import engine, selectors
from .choices import VersionStatus
from .copy import insert_rows
from .engine.rules import SUBSTITUTE
from .engine.serialise import decimal_text
from .engine.types import MAKE
from .mbom_diff import LineData, MBomDiff, diff_lines
from .models import MappingRule, MappingRuleSetVersion, MBom, MBomLine, MBomVersion

TOPIC = "mbom.published"
LINE_BATCH_SIZE = 2000
# Exact Decimal arithmetic can leave a remainder in the last of 28 digits once a yield is
# undone (divided by 0.65, then multiplied by it): smaller differences are not mismatches.
QUANTITY_TOLERANCE = Decimal("1e-12")


def ordering_key(plant: Plant, part_number: str) -> str:
    """Per plant and part, not per revision or version: a new revision's mBOM is ordered after,
    and supersedes, the old one (DESIGN.md)."""
    return f"mbom:{plant.code}:{part_number}"


# --- Mapping a product -----------------------------------------------------------------------

@dataclass(frozen=True)
class Mapped:
    """A product mapped at a plant, with everything read to do it."""

    revision: PartRevision
    plant: Plant
    rule_set_version: MappingRuleSetVersion
    as_of: date
    structure: selectors.ExplodedStructure
    ebom: engine.EBom
    rules: list[engine.Rule]
    context: engine.PlantContext
    result: engine.MappingResult


@dataclass(frozen=True)
class Proposal:
    """One made assembly's mBOM as the mapping proposes it."""

    part: str
    revision_id: int
    revision_label: str
    revision_status: str
    base_unit: str
    lines: tuple[engine.MBomLine, ...]
    fingerprint: str
    content_hash: str
    ebom_ids: list[int]
    resolved_revisions: dict[str, dict[str, Any]]
    set_aside: list[list[Any]]
    warnings: list[dict[str, Any]]

    @property
    def storable(self) -> bool:
        # A superseded revision can still be in effect on a date (its successor's effectivity
        # has not come): its mBOM is as real as a released one's.
        return self.revision_status != RevisionStatus.DRAFT

    def line_data(self) -> list[LineData]:
        return [engine_line_data(line) for line in self.lines]


def map_product(*, revision: PartRevision, plant: Plant,
                rule_set_version: MappingRuleSetVersion, as_of: date | None = None) -> Mapped:
    """Explode `revision` as of `as_of` and map it with the version's rules: about a dozen
    queries whatever the size. A rule that cannot run (a draft's) or a structure that contains
    itself is refused with every problem named."""
    as_of = as_of or plant_today(plant)
    structure = selectors.explode(revision=revision, as_of=as_of)
    ebom = selectors.engine_ebom(revision=revision, structure=structure)
    rules = selectors.engine_rules(version=rule_set_version)
    parts = {line.part for lines in ebom.lines_by_parent.values() for line in lines}
    context = selectors.plant_context(
        plant=plant, part_numbers=parts | {ebom.root_part} | selectors.rule_part_numbers(rules))
    try:
        result = engine.map_ebom(ebom, engine.compile_rules(rules), context)
    except engine.RuleSetError as error:
        raise InvalidInput(
            f"{rule_set_version} cannot run: {len(error.errors)} problem(s).",
            [ErrorItem(f"/rules/{e.rule_id}{e.pointer}", "rule_cannot_run", e.message)
             for e in error.errors]) from None
    except engine.StructureError as error:
        raise InvalidInput(str(error), [ErrorItem("/revision", "cycle", str(error))]) from None
    return Mapped(revision=revision, plant=plant, rule_set_version=rule_set_version,
                  as_of=as_of, structure=structure, ebom=ebom, rules=rules, context=context,
                  result=result)


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str,
                                     separators=(",", ":")).encode()).hexdigest()


def proposals(mapped: Mapped) -> list[Proposal]:
    """Each made assembly's proposed mBOM with its fingerprint, the top-level part first."""
    structure, result, context = mapped.structure, mapped.result, mapped.context
    assemblies = structure.assemblies
    children = {part: {line.part for line in assembly.lines}
                for part, assembly in assemblies.items()}
    below: dict[str, frozenset[str]] = {}

    def reach(part: str) -> frozenset[str]:
        """`part` and every part below it (each assembly once; the eBOM is acyclic, the
        engine refused it otherwise)."""
        found = below.get(part)
        if found is None:
            found = frozenset({part}).union(*(reach(child) for child in children.get(part, ())))
            below[part] = found
        return found

    part_digests: dict[str, str] = {}

    def part_digest(number: str) -> str:
        found = part_digests.get(number)
        if found is None:
            found = part_digests[number] = _digest(
                repr(context.plant_parts.get(number)), repr(context.known_parts.get(number)),
                repr(context.part_conversions.get(number)))
        return found

    rule_parts = sorted(selectors.rule_part_numbers(mapped.rules))
    common = _digest(mapped.rule_set_version.pk, mapped.plant.pk,
                     sorted((u.code, u.dimension, str(u.factor)) for u in context.units.values()),
                     [(number, part_digest(number)) for number in rule_parts])
    set_aside: dict[str, list[list[Any]]] = {}
    for d in result.set_aside:
        set_aside.setdefault(d.assembly, []).append(
            [d.kind, list(d.path), d.rule_id, d.bought_line_id])
    warnings: dict[str | None, list[dict[str, Any]]] = {}
    for w in result.warnings:
        warnings.setdefault(w.assembly, []).append(
            {"code": w.code, "message": w.message, "line_id": w.line_id, "rule_id": w.rule_id})
    found = []
    for part, mbom in result.mboms.items():
        assembly = assemblies[part]
        scope = sorted(reach(part))
        snapshots = sorted((number, assemblies[number].revision_id, assemblies[number].ebom_id)
                           for number in scope if assemblies.get(number)
                           and assemblies[number].ebom_id is not None)
        payload_lines = [payload_line(line) for line in mbom.lines]
        found.append(Proposal(
            part=part, revision_id=assembly.revision_id, revision_label=assembly.revision,
            revision_status=assembly.revision_status, base_unit=mbom.base_unit, lines=mbom.lines,
            fingerprint=_digest(common, snapshots, [(n, part_digest(n)) for n in scope]),
            content_hash=_digest(mbom.base_unit, payload_lines),
            ebom_ids=[ebom_id for _, _, ebom_id in snapshots],
            resolved_revisions={n: {"id": assemblies[n].revision_id,
                                    "label": assemblies[n].revision,
                                    "status": assemblies[n].revision_status}
                                for n in scope if n in assemblies},
            set_aside=set_aside.get(part, []),
            warnings=warnings.get(part, []) + (warnings.get(None, []) if part ==
                                               result.root_part else [])))
    return found


def payload_line(line: engine.MBomLine) -> dict[str, Any]:
    """What the ERP receives of a line (and what `content_hash` covers)."""
    return {
        "position": line.position, "part": line.part, "quantity": decimal_text(line.quantity),
        "unit": line.unit, "item_type": line.item_type, "make_or_buy": line.make_or_buy,
        "scrap_percent": _text(line.scrap_percent), "yield_percent": _text(line.yield_percent),
        "operation": line.operation, "erp_fields": dict(line.erp_fields),
        "substitutes_for": line.substitutes_for,
        "reference_designators": list(line.reference_designators),
    }


def _text(number: Decimal | None) -> str | None:
    return decimal_text(number) if number is not None else None


def lineage_json(lineage: engine.Lineage) -> dict[str, Any]:
    return {"paths": [list(path) for path in lineage.paths], "rule_ids": list(lineage.rule_ids)}


def engine_line_data(line: engine.MBomLine) -> LineData:
    return LineData(
        position=line.position, part=line.part, quantity=line.quantity, unit=line.unit,
        item_type=line.item_type, make_or_buy=line.make_or_buy, scrap_percent=line.scrap_percent,
        yield_percent=line.yield_percent, operation=line.operation,
        erp_fields=dict(line.erp_fields), substitutes_for=line.substitutes_for,
        added_by_rule=line.added_by_rule,
        reference_designators=tuple(line.reference_designators),
        lineage=lineage_json(line.lineage))


# --- Generation ------------------------------------------------------------------------------

@dataclass(frozen=True)
class GenerationResult:
    revision: PartRevision
    plant: Plant
    rule_set_version: MappingRuleSetVersion
    as_of: date
    created: list[MBomVersion]  # new versions
    unchanged: list[MBomVersion]  # current versions whose inputs were the same
    messages: list[OutboundMessage]
    drafts: list[str] = field(default_factory=list)  # made assemblies in draft: not stored
    line_count: int = 0  # lines written

    @property
    def changed(self) -> bool:
        return bool(self.created)


def published_version_for(plant: Plant) -> MappingRuleSetVersion:
    version = selectors.current_rule_set_version(plant=plant)
    if version is None:
        raise StateConflict(f"Plant {plant.code} has no published mapping rules; publish a rule "
                            "set version first.",
                            [ErrorItem("/plant", "no_rules", "No published rule set.")])
    return version


@dataclass(frozen=True)
class ReleaseNote:
    """What the mBOM messages of a change-order release carry: the change order and its
    effectivity, and `not_before` for an ERP that cannot hold future effectivity (the message
    then waits in the outbox until the first effective day begins at the plant)."""

    change_order: str
    effectivity: dict[str, Any]
    not_before: datetime | None = None


def mbom_generate(
    *, revision: PartRevision, plant: Plant, cause: Model | None,
    actor: AbstractBaseUser | None, reason: str,
    rule_set_version: MappingRuleSetVersion | None = None, as_of: date | None = None,
    correlation_id: str = "", release: ReleaseNote | None = None,
) -> GenerationResult:
    """Generate and store the mBOMs of `revision` (a released product) and of every made
    assembly beneath it at `plant`, with `rule_set_version` (default: the plant's published
    one) as of `as_of` (default: today at the plant).

    Made assemblies whose inputs are unchanged keep their current version; each other one gets
    a new version, its lines written in bulk. A new version whose ERP content differs from its
    predecessor's writes an `mbom.published` outbound message to the plant's ERP in this
    transaction. Draft sub-assemblies are left out (listed in `drafts`)."""
    reason = require_reason(reason)
    if revision.status == RevisionStatus.DRAFT:
        raise StateConflict(
            f"{revision} is {revision.get_status_display().lower()}: only a released revision's "
            "mBOMs are stored and sent; preview a draft instead.",
            [ErrorItem("/revision", "not_released", "Not released.")])
    if rule_set_version is None:
        rule_set_version = published_version_for(plant)
    elif rule_set_version.status != VersionStatus.PUBLISHED:
        raise StateConflict(
            f"{rule_set_version} is {rule_set_version.get_status_display().lower()}: stored "
            "mBOMs come from the published rules in force; preview other versions instead.",
            [ErrorItem("/rule_set_version", "not_published", "Not published.")])
    user = actor if actor is not None and actor.is_authenticated else None
    with transaction.atomic():
        mapped = map_product(revision=revision, plant=plant, rule_set_version=rule_set_version,
                             as_of=as_of)
        proposed = proposals(mapped)
        storable = [p for p in proposed if p.storable]
        mboms = _lock_mboms(plant, [p.revision_id for p in storable])
        currents = {v.mbom_id: v for v in MBomVersion.objects.filter(
            mbom_id__in=[m.pk for m in mboms.values()], is_current=True)}
        fresh: list[tuple[Proposal, MBom, MBomVersion | None]] = []
        unchanged: list[MBomVersion] = []
        for proposal in storable:
            mbom = mboms[proposal.revision_id]
            current = currents.get(mbom.pk)
            if current is not None and current.fingerprint == proposal.fingerprint:
                unchanged.append(current)
            else:
                fresh.append((proposal, mbom, current))
        created, line_count = _write_versions(fresh, mapped, cause, user, reason)
        messages = _send(created, fresh, mapped, cause, correlation_id, release)
    return GenerationResult(
        revision=revision, plant=plant, rule_set_version=rule_set_version, as_of=mapped.as_of,
        created=created, unchanged=unchanged, messages=messages,
        drafts=[p.part for p in proposed if not p.storable], line_count=line_count)


def _lock_mboms(plant: Plant, revision_ids: list[int]) -> dict[int, MBom]:
    """The mBOM rows of these revisions at `plant`, created where missing, locked in id order:
    generations of one mBOM take turns, so version numbers and `is_current` stay consistent."""
    if not revision_ids:
        return {}
    MBom.objects.bulk_create([MBom(revision_id=pk, plant=plant) for pk in revision_ids],
                             ignore_conflicts=True)
    return {m.revision_id: m for m in MBom.objects.select_for_update()
            .filter(plant=plant, revision_id__in=revision_ids).order_by("id")}


def _write_versions(fresh: list[tuple[Proposal, MBom, MBomVersion | None]], mapped: Mapped,
                    cause: Model | None, user, reason: str) -> tuple[list[MBomVersion], int]:
    if not fresh:
        return [], 0
    previous = [current.pk for _, _, current in fresh if current is not None]
    if previous:
        # The one field of a version that moves (see MBomVersion).
        MBomVersion.objects.filter(pk__in=previous).update(is_current=False)
    cause_type = ContentType.objects.get_for_model(cause) if cause is not None else None
    now = timezone.now()
    versions = MBomVersion.objects.bulk_create([
        MBomVersion(
            mbom=mbom, number=(current.number if current else 0) + 1, is_current=True,
            rule_set_version=mapped.rule_set_version, as_of=mapped.as_of,
            root=mapped.revision, resolved_revisions=proposal.resolved_revisions,
            ebom_ids=proposal.ebom_ids, set_aside=proposal.set_aside,
            warnings=proposal.warnings, fingerprint=proposal.fingerprint,
            content_hash=proposal.content_hash, line_count=len(proposal.lines),
            cause_type=cause_type, cause_id=str(cause.pk) if cause is not None else "",
            created_at=now, created_by=user, reason=reason)
        for proposal, mbom, current in fresh])
    numbers = {line.part for proposal, _, _ in fresh for line in proposal.lines}
    numbers |= {line.substitutes_for for proposal, _, _ in fresh for line in proposal.lines
                if line.substitutes_for}
    part_ids = dict(Part.objects.filter(number__in=numbers).values_list("number", "id"))
    unit_ids = dict(UnitOfMeasure.objects.values_list("code", "id"))
    insert_rows(MBomLine, LINE_COLUMNS, (
        (version.pk, line.position, part_ids[line.part], line.quantity, line.unrounded_quantity,
         unit_ids[line.unit], line.item_type, line.make_or_buy, line.scrap_percent,
         line.yield_percent, line.operation, dict(line.erp_fields),
         list(line.reference_designators),
         part_ids[line.substitutes_for] if line.substitutes_for else None, line.added_by_rule,
         lineage_json(line.lineage))
        for (proposal, _, _), version in zip(fresh, versions, strict=True)
        for line in proposal.lines), batch_size=LINE_BATCH_SIZE)
    return versions, sum(len(proposal.lines) for proposal, _, _ in fresh)


LINE_COLUMNS = ("version_id", "position", "part_id", "quantity", "unrounded_quantity", "unit_id",
                "item_type", "make_or_buy", "scrap_percent", "yield_percent", "operation",
                "erp_fields", "reference_designators", "substitutes_for_id", "added_by_rule_id",
                "lineage")


def _send(created: list[MBomVersion], fresh: list[tuple[Proposal, MBom, MBomVersion | None]],
          mapped: Mapped, cause: Model | None, correlation_id: str,
          release: ReleaseNote | None = None) -> list[OutboundMessage]:
    erp = mapped.plant.erp_system
    if erp is None:
        return []
    messages = []
    for version, (proposal, _, current) in zip(created, fresh, strict=True):
        if current is not None and current.content_hash == proposal.content_hash:
            continue  # nothing the ERP holds changed
        payload = mbom_payload(version, proposal, mapped)
        if release is not None:
            payload["change_order"] = {"number": release.change_order, **release.effectivity}
        messages.append(NewOutboundMessage(
            topic=TOPIC, payload=payload, about=version, cause=cause,
            ordering_key=ordering_key(mapped.plant, proposal.part), correlation_id=correlation_id,
            not_before=release.not_before if release else None))
    return outbound_messages_write(system=erp, messages=messages)


def mbom_payload(version: MBomVersion, proposal: Proposal, mapped: Mapped) -> dict[str, Any]:
    """The canonical mBOM message: what a connector maps to the ERP's BOM."""
    rule_set_version = mapped.rule_set_version
    return {
        "plant": mapped.plant.code, "part": proposal.part, "revision": proposal.revision_label,
        "version": version.number, "base_unit": proposal.base_unit,
        "rule_set_version": rule_set_version.number, "as_of": mapped.as_of.isoformat(),
        "product": mapped.revision.part.number, "product_revision": mapped.revision.label,
        "lines": [payload_line(line) for line in proposal.lines],
    }


# --- Preview and diff ------------------------------------------------------------------------

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

