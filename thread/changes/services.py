"""Writes of change orders. Every transition is a function here: keyword-only, one transaction,
the change order locked, a refusal as `StateConflict` / `InvalidInput` with pointers, and a
`ChangeOrderEvent` with who, when and why next to the history rows (docs/change-orders.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction
from django.utils import timezone

from thread.bom.ebom import services as bom
from thread.bom.ebom.selectors import current_eboms
from thread.catalog import services as catalog
from thread.catalog.choices import MakeOrBuy, RevisionStatus
from thread.catalog.effectivity import EffectivityInput
from thread.catalog.models import Part, PartRevision, RevisionEffectivity
from thread.errors import DomainError, ErrorItem, InvalidInput, StateConflict, invalid, settle
from thread.flows.choices import SystemKind
from thread.flows.models import ExternalSystem, InboundMessage
from thread.history import audited, require_reason

from . import selectors, workflow
from .choices import (
    KINDS_WITH_NEW,
    KINDS_WITH_OLD,
    ApprovalSource,
    ChangeKind,
    ChangeOrderEventKind,
    ChangeOrderStatus,
    Decision,
    Disposition,
    Priority,
)
from .models import (
    AffectedItem,
    Approval,
    ApprovalStage,
    ChangeOrder,
    ChangeOrderEvent,
    ChangeOrderType,
    PlmSettings,
)
from .release import propagate_release

CHANGE_ORDER_FIELDS = ("title", "description", "change_reason", "priority", "change_type")
DISPOSITION_FIELDS = ("stock_disposition", "wip_disposition", "open_orders_disposition")
ITEM_FIELDS = (*DISPOSITION_FIELDS, "notes")


# --- Configuration: types with their approval stages, and each PLM's settings ----------------

@dataclass(frozen=True)
class StageInput:
    order: int
    name: str
    groups: Sequence[str]  # group names
    required: bool = True


def change_type_create(*, code: str, name: str, stages: Sequence[StageInput],
                       actor: AbstractBaseUser | None, reason: str,
                       description: str = "") -> ChangeOrderType:
    """A change order type with its approval stages (the admin edits them later)."""
    reason = require_reason(reason)
    with transaction.atomic():
        change_type = ChangeOrderType(code=code, name=name, description=description)
        _save(change_type, actor, reason)
        groups = {g.name: g for g in Group.objects.filter(
            name__in={n for stage in stages for n in stage.groups})}
        for index, given in enumerate(stages):
            missing = sorted(set(given.groups) - set(groups))
            if missing:
                raise invalid(f"/stages/{index}/groups", "unknown_group",
                              f"Unknown group(s) {', '.join(missing)}.")
            stage = ApprovalStage(change_type=change_type, order=given.order, name=given.name,
                                  required=given.required)
            _save(stage, actor, reason)
            stage.groups.set([groups[n] for n in given.groups])
    return change_type


def plm_settings_set(*, system: ExternalSystem, approves_in_plm: bool,
                     actor: AbstractBaseUser | None, reason: str) -> PlmSettings:
    reason = require_reason(reason)
    with transaction.atomic():
        if system.kind != SystemKind.PLM:
            raise invalid("/system", "not_a_plm", f"{system} is not a PLM.")
        settings = PlmSettings.objects.select_for_update().filter(system=system).first() \
            or PlmSettings(system=system)
        if settings.pk is None or settings.approves_in_plm != approves_in_plm:
            settings.approves_in_plm = approves_in_plm
            _save(settings, actor, reason)
    return settings


# --- Creating and editing a draft -------------------------------------------------------------

def change_order_create(
    *, number: str, title: str, change_type: ChangeOrderType, actor: AbstractBaseUser | None,
    reason: str, description: str = "", change_reason: str = "", priority: str = Priority.NORMAL,
    requested_by: AbstractBaseUser | None = None, requester_name: str = "",
    source_system: ExternalSystem | None = None, inbound_message: InboundMessage | None = None,
) -> ChangeOrder:
    """A new change order in draft. `requested_by` defaults to the actor (a person); a PLM
    names its requester in `requester_name`."""
    reason = require_reason(reason)
    with transaction.atomic():
        if ChangeOrder.objects.filter(number=number).exists():
            raise StateConflict(f"Change order {number} exists already.",
                                [ErrorItem("/number", "exists", "This number is taken.")])
        change_order = ChangeOrder(
            number=number, title=title, change_type=change_type, description=description,
            change_reason=change_reason, priority=priority,
            requested_by=requested_by or (_user(actor) if source_system is None else None),
            requester_name=requester_name, source_system=source_system,
            inbound_message=inbound_message)
        _save(change_order, actor, reason)
        _event(change_order, ChangeOrderEventKind.PUSHED if source_system
               else ChangeOrderEventKind.CREATED, actor, reason, to_status=change_order.status,
               details={"system": source_system.name} if source_system else {})
    return change_order


def change_order_update(
    *, change_order: ChangeOrder, actor: AbstractBaseUser | None, reason: str, **changes: Any,
) -> ChangeOrder:
    """Change a draft's title, description, reason for change, priority or type."""
    unknown = set(changes) - set(CHANGE_ORDER_FIELDS)
    if unknown:
        raise TypeError(f"unknown change order fields {sorted(unknown)}")
    reason = require_reason(reason)
    with transaction.atomic():
        change_order = _lock(change_order)
        _require_step(change_order, workflow.EDIT)
        changed = {k: v for k, v in changes.items() if getattr(change_order, k) != v}
        if not changed:
            return change_order
        for key, value in changed.items():
            setattr(change_order, key, value)
        _save(change_order, actor, reason)
        _event(change_order, ChangeOrderEventKind.UPDATED, actor, reason,
               details={"fields": sorted(changed)})
    return change_order


def affected_item_add(
    *, change_order: ChangeOrder, part: Part, kind: str, actor: AbstractBaseUser | None,
    reason: str, from_revision: PartRevision | None = None,
    to_revision: PartRevision | None = None, effectivity: EffectivityInput | None = None,
    stock_disposition: str = "", wip_disposition: str = "", open_orders_disposition: str = "",
    notes: str = "",
) -> AffectedItem:
    """Add a part to a draft change order: `from_revision` (the released revision it changes;
    none for `add`) → `to_revision` (a draft; none for `remove`). The effectivity is stored on
    the new revision."""
    reason = require_reason(reason)
    with transaction.atomic():
        change_order = _lock(change_order)
        _require_step(change_order, workflow.ITEMS)
        item = AffectedItem(change_order=change_order, part=part, kind=kind,
                            from_revision=from_revision, to_revision=to_revision,
                            stock_disposition=stock_disposition, wip_disposition=wip_disposition,
                            open_orders_disposition=open_orders_disposition, notes=notes)
        _check_item(item, effectivity)
        _save(item, actor, reason)
        if effectivity is not None:
            _set_effectivity(to_revision, effectivity, actor, reason)
        _event(change_order, ChangeOrderEventKind.ITEM_ADDED, actor, reason,
               details=_item_details(item))
    return item


def affected_item_update(
    *, item: AffectedItem, actor: AbstractBaseUser | None, reason: str,
    effectivity: EffectivityInput | None = None, **changes: Any,
) -> AffectedItem:
    """Change a draft's affected item: dispositions, notes, and the new revision's
    effectivity. Revisions are changed by removing the item and adding it again."""
    unknown = set(changes) - set(ITEM_FIELDS)
    if unknown:
        raise TypeError(f"unknown affected item fields {sorted(unknown)}")
    reason = require_reason(reason)
    with transaction.atomic():
        change_order = _lock(item.change_order)
        _require_step(change_order, workflow.ITEMS)
        item = AffectedItem.objects.select_related("part", "from_revision", "to_revision").get(
            pk=item.pk)
        changed = {k: v for k, v in changes.items() if getattr(item, k) != v}
        for key, value in changed.items():
            setattr(item, key, value)
        _check_item(item, effectivity)
        if changed:
            _save(item, actor, reason)
        if effectivity is not None and _set_effectivity(item.to_revision, effectivity, actor,
                                                        reason):
            changed["effectivity"] = True
        if changed:
            _event(change_order, ChangeOrderEventKind.ITEM_CHANGED, actor, reason,
                   details={**_item_details(item), "fields": sorted(changed)})
    return item


def affected_item_remove(*, item: AffectedItem, actor: AbstractBaseUser | None,
                         reason: str) -> ChangeOrder:
    """Take a part out of a draft change order; the effectivity it gave the new revision goes
    with it (the draft revision stays, free for another change order)."""
    reason = require_reason(reason)
    with transaction.atomic():
        change_order = _lock(item.change_order)
        _require_step(change_order, workflow.ITEMS)
        item = AffectedItem.objects.select_related("part", "from_revision", "to_revision").get(
            pk=item.pk)
        details = _item_details(item)
        _drop_effectivity([item], actor, reason)
        audited(item, actor, reason).delete()
        _event(change_order, ChangeOrderEventKind.ITEM_REMOVED, actor, reason, details=details)
    return change_order


# --- Review ----------------------------------------------------------------------------------

def change_order_submit(*, change_order: ChangeOrder, actor: AbstractBaseUser | None,
                        reason: str) -> ChangeOrder:
    """draft → in review: a new review round begins. Refused, with every problem, unless the
    change order is complete (see `_refuse_if_incomplete`) and its type has a required stage."""
    reason = require_reason(reason)
    with transaction.atomic():
        change_order = _lock(change_order)
        _require_step(change_order, workflow.STEPS["submit"])
        if not any(stage.required for stage in selectors.stages_of(change_order.change_type)):
            detail = (f"Type {change_order.change_type} has no required approval stage; "
                      "configure its stages before submitting.")
            raise StateConflict(detail, [ErrorItem("/type", "no_stages", detail)])
        _begin_review(change_order, actor, reason)
    return change_order


def change_order_approve_stage(*, change_order: ChangeOrder, stage: ApprovalStage,
                               actor: AbstractBaseUser, comment: str) -> ChangeOrder:
    """Approve one stage of a change order in review, by a member of one of the stage's groups.
    Once every required stage is approved in this round, the change order is approved."""
    comment = require_reason(comment)
    with transaction.atomic():
        change_order = _lock(change_order)
        _require_step(change_order, workflow.APPROVE)
        stages = selectors.stages_of(change_order.change_type)
        if stage.pk not in {s.pk for s in stages}:
            raise invalid("/stage", "not_a_stage",
                          f"{stage.name} is not a stage of {change_order.change_type}.")
        stage = next(s for s in stages if s.pk == stage.pk)
        if not selectors.may_approve(user=actor, stage=stage):
            detail = (f"{_name(actor)} is in none of the groups that approve stage "
                      f"{stage.name} ({', '.join(g.name for g in stage.groups.all()) or 'none'}).")
            raise StateConflict(detail, [ErrorItem("/stage", "not_an_approver", detail)],
                                code="forbidden")
        approved = selectors.approved_stage_ids(change_order)
        if stage.pk in approved:
            detail = f"Stage {stage.name} is approved already in this review round."
            raise StateConflict(detail, [ErrorItem("/stage", "already_approved", detail)])
        waiting = [s.name for s in stages
                   if s.required and s.order < stage.order and s.pk not in approved]
        if waiting:
            detail = f"Stage {stage.name} comes after {', '.join(waiting)}, not yet approved."
            raise StateConflict(detail, [ErrorItem("/stage", "earlier_stage_open", detail)])
        now = timezone.now()
        Approval.objects.create(change_order=change_order, stage=stage, stage_name=stage.name,
                                review_round=change_order.review_round,
                                decision=Decision.APPROVED, approver=actor, at=now,
                                comment=comment)
        _event(change_order, ChangeOrderEventKind.STAGE_APPROVED, actor, comment, at=now,
               details={"stage": stage.name, "round": change_order.review_round})
        approved.add(stage.pk)
        if all(s.pk in approved for s in stages if s.required):
            _move(change_order, ChangeOrderStatus.APPROVED, ChangeOrderEventKind.APPROVED,
                  actor, comment, approved_at=now)
    return change_order


def change_order_approve_my_stages(*, change_order: ChangeOrder, actor: AbstractBaseUser,
                                   comment: str) -> list[ApprovalStage]:
    """Approve, in one transaction, every stage that waits for `actor` now — in stage order, so
    a stage that opens when an earlier one is approved is approved too; stops once the change
    order is approved (an optional stage left then no longer matters). Returns the stages
    approved; refused if none waits for `actor`."""
    comment = require_reason(comment)
    approved: list[ApprovalStage] = []
    with transaction.atomic():
        change_order = _lock(change_order)
        while change_order.status == ChangeOrderStatus.IN_REVIEW:
            stages = selectors.stages_open_for(change_order=change_order, user=actor)
            if not stages:
                break
            change_order = change_order_approve_stage(change_order=change_order,
                                                      stage=stages[0], actor=actor,
                                                      comment=comment)
            approved.append(stages[0])
        if not approved:
            detail = f"No stage of {change_order.number} waits for {_name(actor)}."
            raise StateConflict(detail, [ErrorItem("/stage", "nothing_to_approve", detail)])
    return approved


def change_order_reject(*, change_order: ChangeOrder, actor: AbstractBaseUser, reason: str,
                        stage: ApprovalStage | None = None) -> ChangeOrder:
    """in review → draft with the reason, by an approver of any of its stages or a change
    manager (a recall). The round's approvals stay as history; the next submit starts a new
    round in which every stage is approved again."""
    reason = require_reason(reason)
    with transaction.atomic():
        change_order = _lock(change_order)
        _require_step(change_order, workflow.STEPS["reject"])
        stages = selectors.stages_of(change_order.change_type)
        if stage is not None and stage.pk not in {s.pk for s in stages}:
            raise invalid("/stage", "not_a_stage",
                          f"{stage.name} is not a stage of {change_order.change_type}.")
        judged = [s for s in stages if stage is None or s.pk == stage.pk]
        if not (actor.has_perm("changes.change_changeorder")
                or any(selectors.may_approve(user=actor, stage=s) for s in judged)):
            detail = f"{_name(actor)} may neither approve {change_order.number} nor manage it."
            raise StateConflict(detail, [ErrorItem("/stage", "not_an_approver", detail)],
                                code="forbidden")
        now = timezone.now()
        Approval.objects.create(change_order=change_order, stage=stage,
                                stage_name=stage.name if stage else "",
                                review_round=change_order.review_round,
                                decision=Decision.REJECTED, approver=actor, at=now, comment=reason)
        _move(change_order, ChangeOrderStatus.DRAFT, ChangeOrderEventKind.REJECTED, actor, reason,
              details={"stage": stage.name if stage else None,
                       "round": change_order.review_round})
    return change_order


# --- Release and cancel -----------------------------------------------------------------------

def change_order_release(*, change_order: ChangeOrder, actor: AbstractBaseUser | None,
                         reason: str) -> ChangeOrder:
    """approved → released: the new revisions are released (their history says which change
    order), the old ones superseded, removed ones made obsolete, all in one transaction.

    Superseding is a status only: which revision applies on a date, to a serial or a lot is
    the resolver's answer from the new revision's effectivity, so an old revision stays in
    effect until its successor's date comes. Downstream propagation (mBOM regeneration as of
    the effectivity, outbound messages to each plant's ERP, impact flags) belongs in this
    transaction too, after `_release_revisions`."""
    reason = require_reason(reason)
    try:
        with transaction.atomic():
            change_order = _lock(change_order)
            _require_step(change_order, workflow.STEPS["release"])
            items = list(selectors.affected_items(change_order=change_order))
            _refuse_if_stale(items)
            try:
                details = _release_revisions(change_order, items, actor, reason)
                details |= propagate_release(change_order=change_order, items=items,
                                             actor=actor, reason=reason)
            except Exception as exc:
                # Nothing of the release may stay, but the change order keeps why it failed:
                # written once this transaction (and any caller's) has rolled back.
                exc.after_rollback = partial(_record_release_failure, change_order.pk, actor,
                                             reason, exc)
                raise
            now = timezone.now()
            _move(change_order, ChangeOrderStatus.RELEASED, ChangeOrderEventKind.RELEASED, actor,
                  reason, details=details, released_at=now, released_by=_user(actor))
    except Exception as exc:
        settle(exc)
        raise
    return change_order


def _record_release_failure(change_order_id: int, actor, reason: str, exc: Exception) -> None:
    detail = str(exc) if isinstance(exc, DomainError) else f"unexpected error: {exc!r}"
    with transaction.atomic():
        change_order = ChangeOrder.objects.get(pk=change_order_id)
        _event(change_order, ChangeOrderEventKind.RELEASE_FAILED, actor, reason,
               from_status=change_order.status, to_status=change_order.status,
               details={"error": detail[:2000]})


def change_order_cancel(*, change_order: ChangeOrder, actor: AbstractBaseUser | None,
                        reason: str) -> ChangeOrder:
    """draft, in review or approved → cancelled (for good). The new revisions stay drafts,
    without the effectivity this change order gave them."""
    reason = require_reason(reason)
    with transaction.atomic():
        change_order = _lock(change_order)
        _require_step(change_order, workflow.STEPS["cancel"])
        _drop_effectivity(list(selectors.affected_items(change_order=change_order)), actor,
                          reason)
        _move(change_order, ChangeOrderStatus.CANCELLED, ChangeOrderEventKind.CANCELLED, actor,
              reason, cancelled_at=timezone.now())
    return change_order


# --- The PLM's push ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PlmApproval:
    stage: str
    decision: str
    by: str
    at: datetime | None = None
    comment: str = ""


@dataclass(frozen=True)
class ItemPush:
    part: str
    kind: str
    from_revision: str | None = None
    to_revision: str | None = None
    effectivity: EffectivityInput | None = None
    ebom: Mapping[str, Any] | None = None
    stock_disposition: str = ""
    wip_disposition: str = ""
    open_orders_disposition: str = ""
    notes: str = ""


@dataclass(frozen=True)
class ChangeOrderPush:
    """The body of POST /api/v1/changes/change-orders/, shape-checked."""

    number: str
    title: str
    change_type: str
    affected_items: Sequence[ItemPush]
    description: str = ""
    change_reason: str = ""
    priority: str = Priority.NORMAL
    requested_by: str = ""
    submit: bool = False
    approvals: Sequence[PlmApproval] = field(default_factory=tuple)


EBOM_OWN_KEYS = ("part", "revision", "release", "reason")


def change_order_push(*, push: ChangeOrderPush, system: ExternalSystem,
                      actor: AbstractBaseUser | None, reason: str,
                      inbound_message: InboundMessage | None = None) -> ChangeOrder:
    """A change order from the PLM, with its affected items and each new revision's eBOM, all
    or nothing. The new revisions stay drafts until the change order is released.

    A PLM that approves in the PLM (`PlmSettings.approves_in_plm`) sends its approvals: the
    change order arrives approved, the approvals recorded as the PLM's, and Thread's stages
    are skipped. Any other PLM may not send approvals; with `submit` its change order goes
    straight into review."""
    reason = require_reason(reason)
    approves_in_plm = selectors.approves_in_plm(system=system)
    if push.approvals and not approves_in_plm:
        raise invalid("/approvals", "approved_in_thread",
                      f"{system.name} is not set to approve in the PLM: its change orders are "
                      "approved in Thread; send them without approvals.")
    if approves_in_plm and not any(a.decision == Decision.APPROVED for a in push.approvals):
        raise invalid("/approvals", "required",
                      f"{system.name} approves in the PLM: send the PLM's approvals.")
    change_type = ChangeOrderType.objects.filter(code=push.change_type).first()
    if change_type is None:
        known = ", ".join(ChangeOrderType.objects.values_list("code", flat=True))
        raise invalid("/type", "unknown_type",
                      f"Unknown change order type {push.change_type!r}; known: {known}.")
    with transaction.atomic():
        change_order = change_order_create(
            number=push.number, title=push.title, change_type=change_type, actor=actor,
            reason=reason, description=push.description, change_reason=push.change_reason,
            priority=push.priority, requester_name=push.requested_by, source_system=system,
            inbound_message=inbound_message)
        for index, given in enumerate(push.affected_items):
            _push_item(change_order, given, f"/affected_items/{index}", system, actor, reason,
                       inbound_message)
        if approves_in_plm:
            _approve_in_plm(change_order, push.approvals, actor, reason)
        elif push.submit:
            change_order_submit(change_order=change_order, actor=actor, reason=reason)
        change_order.refresh_from_db()
    return change_order


def _push_item(change_order: ChangeOrder, given: ItemPush, pointer: str, system: ExternalSystem,
               actor, reason: str, inbound_message: InboundMessage | None) -> AffectedItem:
    to_revision = None
    if given.ebom is not None:
        for key in EBOM_OWN_KEYS:
            if key in given.ebom:
                raise invalid(f"{pointer}/ebom/{key}", "unknown_field",
                              f"The affected item says {key}: leave it out of its eBOM.")
        if given.to_revision is None:
            raise invalid(f"{pointer}/to_revision", "required",
                          "An eBOM belongs to the new revision: name it.")
        payload = {**given.ebom, "part": given.part, "revision": given.to_revision,
                   "reason": reason}
        try:
            to_revision = bom.ebom_push(payload=payload, actor=actor, reason=reason,
                                        inbound_message=inbound_message, system=system).top
        except DomainError as exc:
            raise _within(exc, f"{pointer}/ebom") from None
    part = Part.objects.filter(number=given.part).first()
    if part is None:
        raise invalid(f"{pointer}/part", "unknown_part",
                      f"Unknown part {given.part!r}: push the part first, or send the new "
                      "revision's eBOM with the item.")
    revisions = {r.label: r for r in PartRevision.objects.filter(part=part)}
    from_revision = None
    if given.from_revision is not None:
        from_revision = revisions.get(given.from_revision)
        if from_revision is None:
            raise invalid(f"{pointer}/from_revision", "unknown_revision",
                          f"{part.number} has no revision {given.from_revision!r}.")
    if given.to_revision is not None and to_revision is None:
        to_revision = revisions.get(given.to_revision) or catalog.revision_create(
            part=part, label=given.to_revision, actor=actor, reason=reason)
    try:
        return affected_item_add(
            change_order=change_order, part=part, kind=given.kind, from_revision=from_revision,
            to_revision=to_revision, effectivity=given.effectivity, actor=actor, reason=reason,
            stock_disposition=given.stock_disposition, wip_disposition=given.wip_disposition,
            open_orders_disposition=given.open_orders_disposition, notes=given.notes)
    except DomainError as exc:
        raise _within(exc, pointer) from None


def _approve_in_plm(change_order: ChangeOrder, approvals: Sequence[PlmApproval], actor,
                    reason: str) -> None:
    """The PLM approved: the change order is checked for completeness as a submit would, then
    approved with the PLM's approvals (source plm), without Thread's stages."""
    change_order = _lock(change_order)
    _begin_review(change_order, actor, reason)
    stages = {s.name.casefold(): s for s in selectors.stages_of(change_order.change_type)}
    now = timezone.now()
    Approval.objects.bulk_create([
        Approval(change_order=change_order, stage=stages.get(a.stage.casefold()),
                 stage_name=a.stage, review_round=change_order.review_round,
                 decision=a.decision, external_approver=a.by, at=a.at or now, comment=a.comment,
                 source=ApprovalSource.PLM)
        for a in approvals])
    _move(change_order, ChangeOrderStatus.APPROVED, ChangeOrderEventKind.APPROVED_IN_PLM, actor,
          reason, approved_at=now,
          details={"approvals": [{"stage": a.stage, "decision": a.decision, "by": a.by}
                                 for a in approvals]})


# --- Helpers ----------------------------------------------------------------------------------

def _user(actor: AbstractBaseUser | None):
    return actor if actor is not None and actor.is_authenticated else None


def _name(actor: AbstractBaseUser | None) -> str:
    return actor.get_username() if _user(actor) else "Nobody"


def _save(instance, actor, reason: str) -> None:
    instance.full_clean()
    audited(instance, actor, reason).save()


def _lock(change_order: ChangeOrder) -> ChangeOrder:
    return (ChangeOrder.objects.select_for_update(of=("self",))
            .select_related("change_type", "source_system").get(pk=change_order.pk))


def _require_step(change_order: ChangeOrder, step: workflow.Step) -> None:
    if workflow.may_take(step, status=change_order.status):
        return
    allowed = " or ".join(ChangeOrderStatus(s).label.lower() for s in step.from_statuses)
    detail = (f"{change_order.number} is {change_order.get_status_display().lower()}; only a "
              f"change order that is {allowed} can be {step.done}.")
    raise StateConflict(detail, [ErrorItem("/status", "invalid_transition", detail)])


def _event(change_order: ChangeOrder, kind: str, actor, reason: str, *, at=None,
           from_status: str = "", to_status: str = "",
           details: dict | None = None) -> ChangeOrderEvent:
    return ChangeOrderEvent.objects.create(
        change_order=change_order, kind=kind, actor=_user(actor), at=at or timezone.now(),
        reason=reason, from_status=from_status, to_status=to_status, details=details or {})


def _move(change_order: ChangeOrder, status: str, kind: str, actor, reason: str, *,
          details: dict | None = None, **fields: Any) -> None:
    """The one place a change order's status changes: the row (with history) and its event."""
    before = change_order.status
    change_order.status = status
    for name, value in fields.items():
        setattr(change_order, name, value)
    _save(change_order, actor, reason)
    _event(change_order, kind, actor, reason, from_status=before, to_status=status,
           details=details)


def _begin_review(change_order: ChangeOrder, actor, reason: str) -> None:
    items = list(selectors.affected_items(change_order=change_order))
    _refuse_if_incomplete(items)
    snapshots = current_eboms(revision_ids=[i.to_revision_id for i in items if i.to_revision_id])
    for item in items:
        reviewed = snapshots.get(item.to_revision_id)
        if item.reviewed_ebom_id != (reviewed.pk if reviewed else None):
            item.reviewed_ebom = reviewed
            audited(item, actor, reason).save(update_fields=["reviewed_ebom"])
    change_order.review_round += 1
    _move(change_order, ChangeOrderStatus.IN_REVIEW, ChangeOrderEventKind.SUBMITTED, actor,
          reason, submitted_at=timezone.now(), details={"round": change_order.review_round})


def _check_item(item: AffectedItem, effectivity: EffectivityInput | None) -> None:
    """What an affected item must be, whenever it is added or changed."""
    problems: list[ErrorItem] = []
    kind, part = item.kind, item.part
    if kind not in ChangeKind.values:
        problems.append(ErrorItem("/kind", "invalid_choice",
                                  f"kind is one of {', '.join(ChangeKind.values)}."))
    for name in ("from_revision", "to_revision"):
        revision = getattr(item, name)
        needed = kind in (KINDS_WITH_OLD if name == "from_revision" else KINDS_WITH_NEW)
        if revision is None and needed:
            problems.append(ErrorItem(f"/{name}", "required", f"A {kind} names the {name}."))
        elif revision is not None and not needed:
            problems.append(ErrorItem(f"/{name}", "not_allowed",
                                      f"A {kind} has no {name.replace('_', ' ')}."))
        elif revision is not None and revision.part_id != part.pk:
            problems.append(ErrorItem(f"/{name}", "other_part",
                                      f"{revision} is not a revision of {part.number}."))
    old, new = item.from_revision, item.to_revision
    if old is not None and old.status != RevisionStatus.RELEASED:
        problems.append(ErrorItem("/from_revision", "not_released",
                                  f"{old} is {old.get_status_display().lower()}; a change starts "
                                  "from the released revision."))
    if new is not None and new.status != RevisionStatus.DRAFT:
        problems.append(ErrorItem("/to_revision", "not_draft",
                                  f"{new} is {new.get_status_display().lower()}; the new revision "
                                  "is a draft until the change order is released."))
    if new is not None:
        other = selectors.open_item_with(revision=new, besides=item.change_order)
        if other is not None:
            problems.append(ErrorItem("/to_revision", "in_other_change_order",
                                      f"{new} is the new revision of {other.change_order.number} "
                                      "already."))
    if item.pk is None and AffectedItem.objects.filter(change_order=item.change_order,
                                                       part=part).exists():
        problems.append(ErrorItem("/part", "duplicate",
                                  f"{part.number} is an affected item already."))
    for name in DISPOSITION_FIELDS:
        value = getattr(item, name)
        if value and value not in Disposition.values:
            problems.append(ErrorItem(f"/{name}", "invalid_choice",
                                      f"{name} is one of {', '.join(Disposition.values)}."))
    if effectivity is not None:
        if kind not in KINDS_WITH_NEW:
            problems.append(ErrorItem("/effectivity", "not_allowed",
                                      "Effectivity belongs to a new revision; a removal takes "
                                      "effect at release."))
        problems += [ErrorItem(f"/effectivity/{name}", "invalid", detail)
                     for name, detail in effectivity.problems().items()]
    if problems:
        raise InvalidInput(f"{problems[0].pointer}: {problems[0].detail}", problems)


def _refuse_if_incomplete(items: list[AffectedItem]) -> None:
    """Submit (and a PLM's approval) needs a complete change order: at least one affected item;
    each new revision still a draft with its effectivity, and an eBOM when the part is made;
    each old revision still released and its dispositions decided."""
    if not items:
        raise invalid("/affected_items", "required", "A change order needs an affected item.")
    snapshots = current_eboms(revision_ids=[i.to_revision_id for i in items if i.to_revision_id])
    problems: list[ErrorItem] = []
    for index, item in enumerate(items):
        at = f"/affected_items/{index}"
        new, old = item.to_revision, item.from_revision
        if new is not None:
            if new.status != RevisionStatus.DRAFT:
                problems.append(ErrorItem(f"{at}/to_revision", "not_draft",
                                          f"{new} is {new.get_status_display().lower()}."))
            if item.part.make_or_buy == MakeOrBuy.MAKE and new.pk not in snapshots:
                problems.append(ErrorItem(f"{at}/to_revision", "no_ebom",
                                          f"{new} has no eBOM; a made part's new revision needs "
                                          "one."))
            if not hasattr(new, "effectivity"):
                problems.append(ErrorItem(f"{at}/effectivity", "required",
                                          f"{new} has no effectivity (date, serials or lot)."))
        if old is not None:
            if old.status != RevisionStatus.RELEASED:
                problems.append(ErrorItem(f"{at}/from_revision", "not_released",
                                          f"{old} is {old.get_status_display().lower()}."))
            problems += [ErrorItem(f"{at}/{name}", "required",
                                   f"Decide what happens to the {label} of {old}.")
                         for name, label in (("stock_disposition", "stock"),
                                             ("wip_disposition", "work in progress"),
                                             ("open_orders_disposition", "open orders"))
                         if not getattr(item, name)]
    if problems:
        raise InvalidInput(f"The change order is not complete: {problems[0].pointer} "
                           f"{problems[0].detail}", problems)


def _refuse_if_stale(items: list[AffectedItem]) -> None:
    """Release what was reviewed, or nothing: refused if a new revision was released or its
    eBOM pushed again since the submit, or an old revision is no longer the released one."""
    snapshots = current_eboms(revision_ids=[i.to_revision_id for i in items if i.to_revision_id])
    problems: list[ErrorItem] = []
    for index, item in enumerate(items):
        at = f"/affected_items/{index}"
        new, old = item.to_revision, item.from_revision
        if new is not None and new.status != RevisionStatus.DRAFT:
            problems.append(ErrorItem(f"{at}/to_revision", "not_draft",
                                      f"{new} was {new.get_status_display().lower()} outside "
                                      "this change order."))
        current = snapshots.get(new.pk) if new is not None else None
        if new is not None and (current.pk if current else None) != item.reviewed_ebom_id:
            problems.append(ErrorItem(f"{at}/to_revision", "ebom_changed",
                                      f"The eBOM of {new} changed after it was reviewed; reject "
                                      "and submit the change order again."))
        if old is not None and old.status != RevisionStatus.RELEASED:
            problems.append(ErrorItem(f"{at}/from_revision", "not_released",
                                      f"{old} is {old.get_status_display().lower()} now."))
    if problems:
        raise StateConflict(f"Nothing was released: {problems[0].detail}", problems)


def _release_revisions(change_order: ChangeOrder, items: list[AffectedItem], actor,
                       reason: str) -> dict:
    why = f"{change_order.number}: {reason}"
    new = [i.to_revision for i in items if i.to_revision is not None]
    superseded = [str(i.from_revision) for i in items
                  if i.from_revision is not None and i.to_revision is not None]
    # The change propagates as of its effectivity itself (release.py), not as of today.
    released = catalog.revisions_release(revisions=new, actor=actor, reason=why,
                                         downstream=False) if new else []
    obsolete = [catalog.revision_make_obsolete(revision=i.from_revision, actor=actor, reason=why)
                for i in items if i.kind == ChangeKind.REMOVE]
    return {"released": [str(r) for r in released], "superseded": superseded,
            "obsolete": [str(r) for r in obsolete]}


def _set_effectivity(revision: PartRevision, given: EffectivityInput, actor,
                     reason: str) -> bool:
    """Store `given` on the draft `revision`; False if it held exactly that already."""
    current = RevisionEffectivity.objects.filter(revision=revision).first()
    effectivity = current or RevisionEffectivity(revision=revision)
    values = {"kind": given.kind, "effective_from": given.effective_from,
              "serial_from": given.serial_from, "serial_to": given.serial_to, "lot": given.lot}
    if current is not None and all(getattr(current, k) == v for k, v in values.items()):
        return False
    for name, value in values.items():
        setattr(effectivity, name, value)
    _save(effectivity, actor, reason)
    return True


def _drop_effectivity(items: list[AffectedItem], actor, reason: str) -> None:
    drafts = [i.to_revision_id for i in items
              if i.to_revision_id and i.to_revision.status == RevisionStatus.DRAFT]
    for effectivity in RevisionEffectivity.objects.filter(revision_id__in=drafts):
        audited(effectivity, actor, reason).delete()


def _item_details(item: AffectedItem) -> dict:
    return {"part": item.part.number, "kind": item.kind,
            "from": item.from_revision.label if item.from_revision else None,
            "to": item.to_revision.label if item.to_revision else None}


def _within(exc: DomainError, prefix: str) -> DomainError:
    """The same refusal, its pointers moved under `prefix` (a part of a bigger body)."""
    errors = [ErrorItem(prefix + e.pointer, e.code, e.detail) for e in exc.errors] or [
        ErrorItem(prefix, exc.kind, exc.detail)]
    detail = f"{errors[0].pointer}: {errors[0].detail}"
    if isinstance(exc, InvalidInput):
        return InvalidInput(detail, errors)
    if isinstance(exc, StateConflict):
        return StateConflict(detail, errors, code=exc.kind)
    return DomainError(detail=detail, errors=errors, kind=exc.kind)
