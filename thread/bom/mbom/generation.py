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
would claim an authority that a draft does not have."""

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

from thread.bom import engine
from thread.bom.bulk import insert_rows
from thread.bom.choices import VersionStatus
from thread.bom.ebom import selectors as ebom_selectors
from thread.bom.engine.serialise import decimal_text
from thread.bom.mbom import selectors as mbom_selectors
from thread.bom.mbom.diff import LineData
from thread.bom.models import MappingRuleSetVersion, MBom, MBomLine, MBomVersion
from thread.catalog.choices import RevisionStatus
from thread.catalog.effectivity import plant_today
from thread.catalog.models import Part, PartRevision, Plant, UnitOfMeasure
from thread.catalog.selectors import outbound_unit_codes
from thread.errors import ErrorItem, InvalidInput, StateConflict
from thread.flows.models import OutboundMessage
from thread.flows.outbox import NewOutboundMessage, outbound_messages_write
from thread.history import require_reason

TOPIC = "mbom.published"
LINE_BATCH_SIZE = 2000


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
    structure: ebom_selectors.ExplodedStructure
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
    structure = ebom_selectors.explode(revision=revision, as_of=as_of)
    ebom = ebom_selectors.engine_ebom(revision=revision, structure=structure)
    rules = mbom_selectors.engine_rules(version=rule_set_version)
    parts = {line.part for lines in ebom.lines_by_parent.values() for line in lines}
    context = mbom_selectors.plant_context(
        plant=plant, part_numbers=parts | {ebom.root_part} | mbom_selectors.rule_part_numbers(rules))
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

    rule_parts = sorted(mbom_selectors.rule_part_numbers(mapped.rules))
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
        "scrap_percent": optional_decimal_text(line.scrap_percent),
        "yield_percent": optional_decimal_text(line.yield_percent),
        "operation": line.operation, "erp_fields": dict(line.erp_fields),
        "substitutes_for": line.substitutes_for,
        "reference_designators": list(line.reference_designators),
    }


def optional_decimal_text(number: Decimal | None) -> str | None:
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
    version = mbom_selectors.current_rule_set_version(plant=plant)
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
    unit_codes = outbound_unit_codes(system=erp)
    described = parts_described({line.part for proposal, _, _ in fresh
                                 for line in proposal.lines}
                                | {proposal.part for proposal, _, _ in fresh})
    for version, (proposal, _, current) in zip(created, fresh, strict=True):
        if current is not None and current.content_hash == proposal.content_hash:
            continue  # nothing the ERP holds changed
        payload = mbom_payload(version, proposal, mapped)
        payload["parts"] = {number: {**described[number],
                                     "revision": proposal.resolved_revisions.get(
                                         number, {}).get("label", "")}
                            for number in sorted({proposal.part,
                                                  *(line.part for line in proposal.lines)})
                            if number in described}
        # How this ERP writes Thread's units (catalog's system unit codes), for the connectors
        # that create parts there.
        payload["units"] = unit_codes
        # Where each line comes from (Thread's eBOM line ids), for the peer's note on the line.
        payload["sources"] = {str(line.position): list(line.lineage.source_line_ids)
                              for line in proposal.lines}
        if release is not None:
            payload["change_order"] = {"number": release.change_order, **release.effectivity}
        messages.append(NewOutboundMessage(
            topic=TOPIC, payload=payload, about=version, cause=cause,
            ordering_key=ordering_key(mapped.plant, proposal.part), correlation_id=correlation_id,
            not_before=release.not_before if release else None))
    return outbound_messages_write(system=erp, messages=messages)


def parts_described(numbers: set[str]) -> dict[str, dict[str, Any]]:
    """What an ERP that keeps its own part master needs to create a part the mBOM names (the
    converging connectors: InvenTree, Odoo, ERPNext): name, base unit, make or buy, and whether
    Thread holds an mBOM for it (an assembly). One query each."""
    with_mbom = set(MBom.objects.filter(revision__part__number__in=numbers)
                    .values_list("revision__part__number", flat=True).distinct())
    return {number: {"name": name, "base_unit": unit, "make_or_buy": make_or_buy,
                     "assembly": number in with_mbom}
            for number, name, unit, make_or_buy in Part.objects.filter(number__in=numbers)
            .values_list("number", "name", "base_unit__code", "make_or_buy")}


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
