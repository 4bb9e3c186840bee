"""What the MES is told when the ERP changes or cancels an order whose work order exists
(docs/work-orders.md, "Changes after sending").

A work order the MES does not have yet (held, scheduled) is simply built again, or cancelled
with nothing sent. One the MES has (pending, sent, acknowledged) is recomputed and followed by a
ChangeOperationsSchedule — or a CancelOperationsSchedule — on the work order's own ordering key,
so the outbox delivers it after the original and never before. One the MES has started or
finished is not changed behind the shop floor's back: the ERP's change waits for a person
(`awaiting_decision`, an attention item), who sends it or keeps what the MES has, with a reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from connectors.b2mml.document import ScheduleVerb
from connectors.base import document_payload
from thread.errors import ErrorItem, StateConflict
from thread.flows.attention import attention_raise, attention_resolve
from thread.flows.outbox import outbound_message_write
from thread.history import audited, require_reason

from ..choices import (
    AT_THE_MES,
    STARTED,
    HoldReason,
    ProductionOrderStatus,
    WorkOrderDecision,
    WorkOrderStatus,
)
from ..models import ProductionOrder, WorkOrder, WorkOrderMaterial
from .documents import cancellation_document
from .plan import Hold
from .services import (
    ATTENTION_KIND,
    CANCEL_TOPIC,
    CHANGE_TOPIC,
    build_in_place,
    compute,
    held_reference,
    material_definitions_write,
    render,
    write_built,
)

DECISION_KIND = "work_order_decision"
# What the MES is told about an order: a change to any of these follows it there.
FOLLOWED = ("part_id", "quantity", "unit_id", "planned_start", "planned_end", "revision_id",
            "mbom_version_id")


def order_snapshot(order: ProductionOrder) -> dict[str, Any]:
    """The followed fields of an order as they are, to compare after the ERP's push."""
    return {name: getattr(order, name) for name in FOLLOWED}


def work_orders_follow_orders(*, changes: Sequence[tuple[ProductionOrder, Mapping[str, Any]]],
                              actor: AbstractBaseUser | None, reason: str) -> list[WorkOrder]:
    """After the ERP changed these orders (each with its followed fields as they were), in the
    caller's transaction: their work orders follow (see the module docstring). One query for
    the work orders of all of them, however many the push held. Returns those that did
    something."""
    followed_orders = {}
    for order, before in changes:
        changed = [name for name in FOLLOWED if before.get(name) != getattr(order, name)]
        if order.status == ProductionOrderStatus.CANCELLED or changed:
            followed_orders[order.pk] = (order, before, changed)
    if not followed_orders:
        return []
    followed = []
    for work_order in (WorkOrder.objects.select_for_update(of=("self",))
                       .select_related("plant", "part", "mes_system")
                       .filter(production_order_id__in=list(followed_orders))
                       .exclude(status=WorkOrderStatus.CANCELLED).order_by("pk")):
        order, before, changed = followed_orders[work_order.production_order_id]
        work_order.production_order = order
        if order.status == ProductionOrderStatus.CANCELLED:
            _follow_cancel(work_order, actor=actor, reason=reason)
        else:
            _follow_change(work_order, _what_changed(order, before, changed), actor=actor,
                           reason=reason)
        followed.append(work_order)
    return followed


def _follow_change(work_order: WorkOrder, what: str, *, actor: AbstractBaseUser | None,
                   reason: str) -> None:
    order = work_order.production_order
    if work_order.status in (WorkOrderStatus.HELD, WorkOrderStatus.SCHEDULED):
        build_in_place(order, work_order, actor=actor, reason=reason)
    elif work_order.status in STARTED:
        await_decision(work_order, WorkOrderDecision.ERP_CHANGE,
                        f"The ERP changed {what} after the MES {_began(work_order)} it.", actor=actor,
                        reason=reason)
    else:
        holds = change_send(work_order, actor=actor, reason=reason)
        if holds:
            await_decision(work_order, WorkOrderDecision.ERP_CHANGE,
                            f"The ERP changed {what}; the change cannot be sent: "
                            + "; ".join(h.detail for h in holds), actor=actor, reason=reason)


def _follow_cancel(work_order: WorkOrder, *, actor: AbstractBaseUser | None, reason: str) -> None:
    if work_order.status in (WorkOrderStatus.HELD, WorkOrderStatus.SCHEDULED):
        # The MES never had it: nothing to tell.
        _cancelled(work_order, actor=actor, reason=reason)
    elif work_order.status in STARTED:
        await_decision(work_order, WorkOrderDecision.ERP_CANCEL,
                        f"The ERP cancelled production order {work_order.production_order.number}"
                        f" after the MES {_began(work_order)} it.",
                        actor=actor, reason=reason)
    else:
        cancel_send(work_order, actor=actor, reason=reason)


def change_send(work_order: WorkOrder, *, actor: AbstractBaseUser | None,
                reason: str) -> list[Hold]:
    """Recompute a work order the MES has from its order as it now stands and write the
    ChangeOperationsSchedule behind the original. Returns what keeps the change from being sent
    (then nothing is written and the work order stays as the MES has it)."""
    order = work_order.production_order
    if order.plant.mes_system_id != work_order.mes_system_id:
        return [Hold(HoldReason.NO_MES, f"Plant {order.plant.code}'s MES is not the one that has "
                                        "this work order any more.")]
    computed = compute(order, accepted_version=work_order.decision_context.get(
        "accepted_mbom_version"))
    if computed.holds:
        return computed.holds
    now = timezone.now()
    # The MES knows the parts of the work order as it has it (their definitions went first).
    known = set(WorkOrderMaterial.objects.filter(operation__work_order=work_order)
                .values_list("part__number", flat=True))
    try:
        with transaction.atomic():  # a savepoint: a change that fails the schema leaves no trace
            write_built(work_order, computed, actor=actor, reason=reason, now=now)
            problems = render(work_order, computed, verb=ScheduleVerb.CHANGE, now=now)
            if problems:
                raise _NotSendable(problems)
    except _NotSendable as refused:
        work_order.refresh_from_db()
        return refused.holds
    messages = material_definitions_write(
        mes=work_order.mes_system, work_orders=[work_order], about=work_order, cause=order,
        key=work_order.ordering_key, bod_id=f"{work_order.number}-{work_order.build_count}",
        now=now, known=known)
    messages.append(_write_message(work_order, CHANGE_TOPIC))
    work_order.outbound_messages.add(*messages)
    work_order.changes_sent += 1
    if work_order.status in AT_THE_MES:
        work_order.status = WorkOrderStatus.PENDING  # sent again once the change is delivered
    decision_closed(work_order, f"Change sent: {reason}", actor=actor, reason=reason)
    return []


def cancel_send(work_order: WorkOrder, *, actor: AbstractBaseUser | None, reason: str) -> None:
    """Write the CancelOperationsSchedule of the work order as the MES last received it, behind
    everything sent before it; the work order is cancelled."""
    now = timezone.now()
    rendered = cancellation_document(
        work_order.document, fmt=work_order.format, number=work_order.number,
        bod_id=f"{work_order.number}-cancel", created_at=now)
    work_order.document, work_order.media_type = rendered.text, rendered.media_type
    work_order.outbound_messages.add(_write_message(work_order, CANCEL_TOPIC))
    _cancelled(work_order, actor=actor, reason=reason, now=now)


def _write_message(work_order: WorkOrder, topic: str):
    return outbound_message_write(
        system=work_order.mes_system, topic=topic, about=work_order,
        cause=work_order.production_order, ordering_key=work_order.ordering_key,
        payload=document_payload(media_type=work_order.media_type, text=work_order.document))


def _cancelled(work_order: WorkOrder, *, actor: AbstractBaseUser | None, reason: str,
               now: datetime | None = None) -> None:
    work_order.status, work_order.finished_at = WorkOrderStatus.CANCELLED, now or timezone.now()
    attention_resolve(kind=ATTENTION_KIND, about=work_order, actor=actor,
                      resolution=f"Cancelled by the ERP: {reason}")
    decision_closed(work_order, f"Cancelled: {reason}", actor=actor, reason=reason)


def decision_closed(work_order: WorkOrder, resolution: str, *, actor: AbstractBaseUser | None,
             reason: str) -> None:
    work_order.awaiting_decision, work_order.decision_context = WorkOrderDecision.NONE, {}
    audited(work_order, actor, reason).save()
    attention_resolve(kind=DECISION_KIND, about=work_order, actor=actor, resolution=resolution)


def await_decision(work_order: WorkOrder, decision: str, detail: str, *,
                    actor: AbstractBaseUser | None, reason: str,
                    context: Mapping[str, Any] | None = None) -> None:
    work_order.awaiting_decision = decision
    work_order.decision_context = {"detail": detail, **(context or {})}
    audited(work_order, actor, reason).save()
    attention_raise(kind=DECISION_KIND, about=work_order, system=work_order.mes_system,
                    reference=held_reference(work_order), reason=detail, actor=actor,
                    admin_url=reverse("admin:orders_workorder_change", args=[work_order.pk]))


def _what_changed(order: ProductionOrder, before: Mapping[str, Any], changed: list[str]) -> str:
    words = {"part_id": "the part", "unit_id": "the unit", "revision_id": "the revision",
             "mbom_version_id": "the mBOM version"}
    parts = []
    for name in changed:
        if name == "quantity":
            parts.append(f"the quantity from {before[name].normalize():f} to "
                         f"{order.quantity.normalize():f} {order.unit.code}")
        elif name in ("planned_start", "planned_end"):
            label = name.replace("_", " ")
            parts.append(f"the {label} from {_when(before[name])} to {_when(getattr(order, name))}")
        elif words[name] not in parts:
            parts.append(words[name])
    return ", ".join(parts)


def _began(work_order: WorkOrder) -> str:
    return "completed" if work_order.status == WorkOrderStatus.COMPLETED else "started"


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="minutes") if value else "none"


class _NotSendable(Exception):
    def __init__(self, problems: list[Hold]) -> None:
        super().__init__("; ".join(h.detail for h in problems))
        self.holds = problems


# --- A person's decision on a held ERP change ---------------------------------------------------

def work_order_erp_change_send(*, work_order: WorkOrder, actor: AbstractBaseUser | None,
                               reason: str) -> WorkOrder:
    """Send the ERP's change or cancellation that waited for a person (the plant agreed)."""
    reason = require_reason(reason)
    with transaction.atomic():
        work_order = _locked_awaiting(work_order, (WorkOrderDecision.ERP_CHANGE,
                                                   WorkOrderDecision.ERP_CANCEL))
        if work_order.awaiting_decision == WorkOrderDecision.ERP_CANCEL:
            cancel_send(work_order, actor=actor, reason=reason)
            return work_order
        holds = change_send(work_order, actor=actor, reason=reason)
        if holds:
            detail = "The change cannot be sent: " + "; ".join(h.detail for h in holds)
            raise StateConflict(detail, [ErrorItem("", h.code, h.detail) for h in holds])
    return work_order


def work_order_erp_change_keep(*, work_order: WorkOrder, actor: AbstractBaseUser | None,
                               reason: str) -> WorkOrder:
    """Keep what the MES has: the ERP's change or cancellation is not sent (the reason says
    why, e.g. the plant finishes the order as started)."""
    reason = require_reason(reason)
    with transaction.atomic():
        work_order = _locked_awaiting(work_order, (WorkOrderDecision.ERP_CHANGE,
                                                   WorkOrderDecision.ERP_CANCEL))
        decision_closed(work_order, f"Kept as the MES has it: {reason}", actor=actor, reason=reason)
    return work_order


def _locked_awaiting(work_order: WorkOrder, decisions: tuple[str, ...]) -> WorkOrder:
    work_order = (WorkOrder.objects.select_for_update(of=("self",))
                  .select_related("plant", "part", "mes_system", "production_order__plant",
                                  "production_order__part__base_unit",
                                  "production_order__unit").get(pk=work_order.pk))
    if work_order.awaiting_decision not in decisions:
        detail = (f"{work_order} waits for no such decision"
                  + (f" (it waits for: {work_order.get_awaiting_decision_display().lower()})."
                     if work_order.awaiting_decision else "."))
        raise StateConflict(detail, [ErrorItem("/awaiting_decision", "no_decision_pending",
                                               detail)])
    return work_order
