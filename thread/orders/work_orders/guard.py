"""The superseded guard (docs/work-orders.md, "The superseded guard").

A work order is built from its order's revision and mBOM version. When a released change order
moves the order to another revision or mBOM version, or the mBOM version it was built from is no
longer current, the work order is not sent silently: one the MES does not have yet is `held`,
one it has is flagged, and an analyst decides with a reason —

- **send as resolved**: the MES builds what was resolved (refused when the change order's
  disposition of open orders is rework, scrap or return to vendor);
- **re-resolve**: the order is resolved again and the work order built from the current revision
  and mBOM version (sent as a change where the MES has it already).

The changes app holds the work orders when it releases a change order, through
`work_orders_hold_superseded`; this module reads only the orders' own resolution and whether an
mBOM version is current (bom), never the change order.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.urls import reverse

from thread.errors import ErrorItem, StateConflict
from thread.flows.attention import attention_raise, attention_resolve
from thread.history import audited, require_reason

from ..choices import AT_THE_MES, HoldReason, WorkOrderDecision, WorkOrderStatus
from ..models import ProductionOrder, WorkOrder
from ..services import production_orders_resolve
from .follow import DECISION_KIND, await_decision, change_send, decision_closed
from .services import ATTENTION_KIND, build_in_place, held_reference, release_built

# Not yet started at the MES: what the guard looks at.
GUARDED = (WorkOrderStatus.HELD, WorkOrderStatus.SCHEDULED, *AT_THE_MES)


def superseded_detail(work_order: WorkOrder) -> str:
    """Why the work order no longer matches what its order resolves to ("" when it does, or
    when a person accepted the mBOM version it was built from)."""
    order = work_order.production_order
    version = work_order.mbom_version
    if version is None or work_order.decision_context.get("accepted_mbom_version") == version.pk:
        return ""
    if work_order.revision_id != order.revision_id:
        now = order.revision.label if order.revision else "no released revision"
        was = work_order.revision.label if work_order.revision else "none"
        return (f"Built from {work_order.part.number} rev {was}; the order now resolves to "
                f"{now}.")
    if work_order.mbom_version_id != order.mbom_version_id or not version.is_current:
        return (f"Built from mBOM version {version.number}, which is no longer current at "
                f"{work_order.plant.code}.")
    return ""


def work_orders_hold_superseded(*, orders: Iterable[ProductionOrder], change_order: str,
                                as_resolved_allowed: bool, actor: AbstractBaseUser | None,
                                reason: str) -> list[WorkOrder]:
    """After a change order's release re-resolved these orders, in its transaction: hold each of
    their work orders that no longer matches (see the module docstring). Returns them."""
    held = []
    for work_order in (WorkOrder.objects.select_for_update(of=("self",))
                       .select_related("production_order__revision", "revision", "part", "plant",
                                       "mbom_version", "mes_system")
                       .filter(production_order__in=list(orders), status__in=GUARDED)
                       .order_by("pk")):
        work_order.decision_context.pop("accepted_mbom_version", None)
        detail = superseded_detail(work_order)
        if not detail:
            continue
        detail = f"{change_order} superseded it: {detail}"
        hold_superseded(work_order, detail, context={
            "change_order": change_order, "as_resolved_allowed": as_resolved_allowed},
            actor=actor, reason=reason)
        held.append(work_order)
    return held


def hold_superseded(work_order: WorkOrder, detail: str, *, context: dict,
                    actor: AbstractBaseUser | None, reason: str) -> None:
    """Hold one work order for the analyst's decision: kept from the MES if it does not have it
    (the document as built stays, to be sent as resolved), flagged if it has."""
    context = {"as_resolved_allowed": True, **context}
    if work_order.status in AT_THE_MES:
        await_decision(work_order, WorkOrderDecision.SUPERSEDED, detail, context=context,
                        actor=actor, reason=reason)
        return
    work_order.status = WorkOrderStatus.HELD
    work_order.hold_reasons = [h for h in work_order.hold_reasons
                               if h["code"] != HoldReason.SUPERSEDED] + [
        {"code": HoldReason.SUPERSEDED, "detail": detail}]
    work_order.awaiting_decision = WorkOrderDecision.SUPERSEDED
    work_order.decision_context = {"detail": detail, **context}
    audited(work_order, actor, reason).save()
    attention_raise(kind=ATTENTION_KIND, about=work_order, system=work_order.mes_system,
                    reference=held_reference(work_order),
                    reason="; ".join(h["detail"] for h in work_order.hold_reasons), actor=actor,
                    admin_url=reverse("admin:orders_workorder_change", args=[work_order.pk]))


def work_order_send_as_resolved(*, work_order: WorkOrder, actor: AbstractBaseUser | None,
                                reason: str) -> WorkOrder:
    """The analyst lets the MES build what was resolved (audited with the reason)."""
    reason = require_reason(reason)
    with transaction.atomic():
        work_order = _locked_superseded(work_order)
        context = work_order.decision_context
        if not context.get("as_resolved_allowed", True):
            detail = (f"{context.get('change_order', 'The change order')}'s disposition of open "
                      "orders does not allow building the old revision: re-resolve instead.")
            raise StateConflict(detail, [ErrorItem("/awaiting_decision", "disposition_forbids",
                                                   detail)])
        resolution = f"Sent as resolved: {reason}"
        if work_order.status in AT_THE_MES:
            work_order.decision_context = {}
            decision_closed(work_order, resolution, actor=actor, reason=reason)
            return work_order
        accepted = (work_order.mbom_version_id if work_order.document
                    else work_order.production_order.mbom_version_id)
        work_order.awaiting_decision = WorkOrderDecision.NONE
        work_order.decision_context = {"accepted_mbom_version": accepted}
        others = [h for h in work_order.hold_reasons if h["code"] != HoldReason.SUPERSEDED]
        if work_order.document and not others:
            # Built and valid before the change order came: sent (or scheduled) as built.
            work_order.hold_reasons = []
            release_built(work_order, actor=actor, reason=reason)
        else:
            build_in_place(work_order.production_order, work_order, actor=actor, reason=reason)
        attention_resolve(kind=DECISION_KIND, about=work_order, actor=actor,
                          resolution=resolution)
    return work_order


def work_order_re_resolve(*, work_order: WorkOrder, actor: AbstractBaseUser | None,
                          reason: str) -> WorkOrder:
    """The analyst has the order resolved again and the work order built from the current
    revision and mBOM version: sent (or scheduled) if the MES does not have it, else sent as a
    change behind the original."""
    reason = require_reason(reason)
    with transaction.atomic():
        work_order = _locked_superseded(work_order)
        production_orders_resolve(orders=[work_order.production_order], actor=actor,
                                  reason=reason)
        work_order.production_order.refresh_from_db()
        work_order.decision_context = {}
        if work_order.status in AT_THE_MES:
            holds = change_send(work_order, actor=actor, reason=reason)
            if holds:
                detail = "The change cannot be sent: " + "; ".join(h.detail for h in holds)
                raise StateConflict(detail, [ErrorItem("", h.code, h.detail) for h in holds])
        else:
            work_order.awaiting_decision = WorkOrderDecision.NONE
            build_in_place(work_order.production_order, work_order, actor=actor, reason=reason)
        attention_resolve(kind=DECISION_KIND, about=work_order, actor=actor,
                          resolution=f"Re-resolved: {reason}")
    return work_order


def _locked_superseded(work_order: WorkOrder) -> WorkOrder:
    work_order = (WorkOrder.objects.select_for_update(of=("self",))
                  .select_related("plant", "part", "mes_system", "revision", "mbom_version",
                                  "production_order__plant__mes_system",
                                  "production_order__part__base_unit", "production_order__unit")
                  .get(pk=work_order.pk))
    if work_order.awaiting_decision != WorkOrderDecision.SUPERSEDED:
        detail = f"{work_order} is not held as superseded."
        raise StateConflict(detail, [ErrorItem("/awaiting_decision", "not_superseded", detail)])
    return work_order
