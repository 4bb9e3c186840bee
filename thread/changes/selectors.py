"""Reads of change orders: lists for the API and the admin, the approval state of a review
round, and who may approve what."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch, QuerySet

from thread.bom import engine
from thread.bom.ebom.selectors import current_eboms, ebom_lines, engine_ebom
from thread.bom.mbom.selectors import current_rule_set_version, engine_rules, plant_context, rule_part_numbers
from thread.bom.models import MappingRuleSetVersion
from thread.catalog.models import Plant
from thread.flows.models import ExternalSystem

from .choices import OPEN_STATUSES, ChangeOrderStatus, Decision
from .diff import AssemblyDiff, EBomDiff, EBomLineData, ebom_diff, mapping_diff
from .models import (
    AffectedItem,
    Approval,
    ApprovalStage,
    ChangeOrder,
    ChangeOrderType,
    ImpactFlag,
    PlmSettings,
)

ITEM_RELATED = ("part", "from_revision__part", "to_revision__part", "to_revision__effectivity")


def change_orders_list() -> QuerySet[ChangeOrder]:
    """Change orders with everything the API shows of them, in a constant number of queries."""
    return (ChangeOrder.objects.select_related("change_type", "requested_by", "released_by",
                                               "source_system")
            .prefetch_related(
                Prefetch("affected_items",
                         queryset=AffectedItem.objects.select_related(*ITEM_RELATED)),
                Prefetch("approvals", queryset=Approval.objects.select_related("approver"))))


def change_order_types_list() -> QuerySet[ChangeOrderType]:
    return ChangeOrderType.objects.prefetch_related(
        Prefetch("stages", queryset=ApprovalStage.objects.prefetch_related("groups")))


def affected_items(*, change_order: ChangeOrder) -> QuerySet[AffectedItem]:
    return (AffectedItem.objects.filter(change_order=change_order)
            .select_related(*ITEM_RELATED).order_by("id"))


def stages_of(change_type: ChangeOrderType) -> list[ApprovalStage]:
    return list(ApprovalStage.objects.filter(change_type=change_type)
                .prefetch_related("groups").order_by("order", "id"))


def approved_stage_ids(change_order: ChangeOrder) -> set[int]:
    """The stages approved in the change order's current review round."""
    return set(Approval.objects.filter(
        change_order=change_order, review_round=change_order.review_round,
        decision=Decision.APPROVED, stage__isnull=False).values_list("stage_id", flat=True))


def may_approve(*, user: AbstractBaseUser | None, stage: ApprovalStage) -> bool:
    """Members of one of the stage's groups approve it; a superuser counts as a member of
    every group (the one account of a small installation, and the demo)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return bool({g.pk for g in stage.groups.all()} & set(user.groups.values_list("pk", flat=True)))


def stages_open_for(*, change_order: ChangeOrder, user: AbstractBaseUser) -> list[ApprovalStage]:
    """The stages `user` may approve now: in review, not approved in this round, every
    earlier required stage approved, and `user` in one of the stage's groups."""
    if change_order.status != ChangeOrderStatus.IN_REVIEW:
        return []
    stages = stages_of(change_order.change_type)
    approved = approved_stage_ids(change_order)
    return [stage for stage in stages
            if stage.pk not in approved
            and all(s.pk in approved for s in stages if s.required and s.order < stage.order)
            and may_approve(user=user, stage=stage)]


def review_state(*, change_order: ChangeOrder) -> list[dict]:
    """Each stage with its approval in the current round (None: waiting), for the pages."""
    approvals = {a.stage_id: a for a in Approval.objects.filter(
        change_order=change_order, review_round=change_order.review_round,
        decision=Decision.APPROVED).select_related("approver")}
    return [{"stage": stage, "approval": approvals.get(stage.pk)}
            for stage in stages_of(change_order.change_type)]


def open_item_with(*, revision, besides: ChangeOrder | None) -> AffectedItem | None:
    """The affected item of another open change order that brings `revision`, if any."""
    items = AffectedItem.objects.filter(to_revision=revision,
                                        change_order__status__in=OPEN_STATUSES)
    if besides is not None and besides.pk is not None:
        items = items.exclude(change_order=besides)
    return items.select_related("change_order").first()


def approves_in_plm(*, system: ExternalSystem) -> bool:
    return PlmSettings.objects.filter(system=system, approves_in_plm=True).exists()


# --- Diffs: what the change does to each eBOM and, through the rules, to each plant's mBOMs ---

@dataclass
class PlantPreview:
    """The mBOM diff at one plant under its current published rules (`version`), or why there
    is none (`problem`); `warnings` are the engine's for the new structure."""

    plant: Plant
    version: MappingRuleSetVersion | None
    assemblies: list[AssemblyDiff] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problem: str = ""


@dataclass
class ItemDiff:
    item: AffectedItem
    ebom: EBomDiff
    plants: list[PlantPreview]  # empty: neither revision has a structure to map


def change_order_diff(*, change_order: ChangeOrder) -> list[ItemDiff]:
    """For each affected item, the eBOM diff (old revision → new) and, per plant, the mBOM
    diff the current published rules would produce: a preview through the engine, nothing
    stored. Children resolve as an explosion does (drafts where nothing is released)."""
    items = list(affected_items(change_order=change_order))
    revision_ids = [r for i in items for r in (i.from_revision_id, i.to_revision_id) if r]
    lines = _ebom_lines_by_revision(revision_ids)
    plants = [(plant, current_rule_set_version(plant=plant))
              for plant in Plant.objects.order_by("code")]
    rules = {version.pk: engine_rules(version=version) for _, version in plants if version}
    diffs = []
    for item in items:
        old = lines.get(item.from_revision_id, []) if item.from_revision_id else []
        new = lines.get(item.to_revision_id, []) if item.to_revision_id else []
        previews = []
        if old or new:
            structures = {side: engine_ebom(revision=revision) for side, revision in
                          (("old", item.from_revision), ("new", item.to_revision))
                          if revision is not None and (old if side == "old" else new)}
            previews = [_plant_preview(plant, version, rules.get(version.pk) if version else None,
                                       structures) for plant, version in plants]
        diffs.append(ItemDiff(item=item, ebom=ebom_diff(old, new), plants=previews))
    return diffs


def _ebom_lines_by_revision(revision_ids: list[int]) -> dict[int, list[EBomLineData]]:
    snapshots = current_eboms(revision_ids=revision_ids)
    revision_of = {snapshot.pk: revision_id for revision_id, snapshot in snapshots.items()}
    found: dict[int, list[EBomLineData]] = {}
    for line in ebom_lines(ebom_ids=revision_of):
        found.setdefault(revision_of[line.ebom_id], []).append(EBomLineData(
            find_number=line.find_number, part=line.part.number, quantity=line.quantity,
            unit=line.unit.code, item_type=line.item_type,
            reference_designators=tuple(line.reference_designators),
            attributes=line.attributes))
    return found


def _plant_preview(plant: Plant, version: MappingRuleSetVersion | None,
                   rules: list[engine.Rule] | None,
                   structures: dict[str, engine.EBom]) -> PlantPreview:
    if version is None or rules is None:
        return PlantPreview(plant=plant, version=None,
                            problem="No published rule set: nothing to preview.")
    numbers = rule_part_numbers(rules)
    for structure in structures.values():
        numbers.add(structure.root_part)
        numbers.update(line.part for lines in structure.lines_by_parent.values()
                       for line in lines)
    context = plant_context(plant=plant, part_numbers=numbers)
    try:
        compiled = engine.compile_rules(rules)
        results = {side: engine.map_ebom(structure, compiled, context)
                   for side, structure in structures.items()}
    except (engine.RuleSetError, engine.StructureError) as exc:
        return PlantPreview(plant=plant, version=version, problem=f"Cannot map: {exc}")
    new = results.get("new")
    return PlantPreview(plant=plant, version=version,
                        assemblies=mapping_diff(results.get("old"), new),
                        warnings=[w.message for w in new.warnings] if new else [])


def stage_by_key(*, change_type: ChangeOrderType, key: str) -> ApprovalStage | None:
    """A stage of `change_type` by id or by name (case-insensitive)."""
    stages = ApprovalStage.objects.filter(change_type=change_type)
    key = key.strip()
    if key.isdigit():
        return stages.filter(pk=int(key)).first()
    return stages.filter(name__iexact=key).first()


def impact_flags_list() -> QuerySet[ImpactFlag]:
    return ImpactFlag.objects.select_related(
        "change_order", "purchase_order", "production_order", "part", "raised_by",
        "acknowledged_by", "resolved_by")


def change_order_by_key(key: str) -> ChangeOrder | None:
    """A change order by id, else by number."""
    key = key.strip()
    found = ChangeOrder.objects.filter(pk=int(key)).first() if key.isdigit() else None
    return found or ChangeOrder.objects.filter(number=key).first()
