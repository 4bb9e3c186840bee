"""Building work orders and following them at the MES (docs/work-orders.md).

A production order that the ERP moves to `released` gets its work order in the same
transaction: computed from the order's mBOM version and the routing version in effect on its
plant-local planned start (`plan.work_order_plan`), rendered in the plant's format, validated
against the official schema and written to the outbox of the plant's MES. What cannot be built
is never refused to the ERP: the work order is kept `held` with its reasons, nothing is sent,
and the flow monitor shows it (an attention item) until a person fixes the cause and rebuilds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from connectors.b2mml import document as b2mml
from connectors.b2mml.errors import B2mmlError
from connectors.b2mml.parse import parse_acknowledgement
from connectors.base import document_payload
from thread.bom.models import MBomLine, MBomVersion
from thread.catalog.choices import LateRelease, WorkOrderFormat, WorkOrderTiming
from thread.catalog.effectivity import plant_date
from thread.catalog.models import Part, PlantPart, UnitOfMeasure
from thread.catalog.selectors import part_conversions
from thread.catalog.units import Unit, UnitMismatch, convert
from thread.errors import ErrorItem, StateConflict, b2mml_refusal, invalid
from thread.flows.attention import attention_raise, attention_resolve
from thread.flows.choices import OUTBOUND_WAITING
from thread.flows.models import AttentionItem
from thread.flows.outbox import outbound_message_write
from thread.history import acting_user, audited, require_reason

from ..choices import (
    WORK_ORDER_MOVES,
    HoldReason,
    ProductionOrderStatus,
    WorkOrderDecision,
    WorkOrderStatus,
)
from ..models import (
    ProductionOrder,
    RoutingOperation,
    RoutingVersion,
    ShiftBatch,
    WorkCenter,
    WorkOrder,
    WorkOrderMaterial,
    WorkOrderOperation,
)
from ..routings.selectors import routing_operations, routing_version_in_effect
from .documents import material_definitions_document, work_order_data, work_order_document
from .plan import Hold, Line, Plan, Step, work_order_plan
from .shifts import plant_calendar, shift_of

TOPIC = "work_order"
CHANGE_TOPIC = "work_order_change"  # its own topics: a change never supersedes the original
CANCEL_TOPIC = "work_order_cancel"
DEFINITIONS_TOPIC = "material_definitions"
ATTENTION_KIND = "work_order_held"
REJECTED_KIND = "work_order_rejected"
ACK_REQUEST_POINTER = "/AcknowledgeOperationsSchedule/DataArea/OperationsSchedule/OperationsRequest/ID"
# The MES has these work orders: the parts in them need no ProcessMaterialDefinition again.
DELIVERED = (WorkOrderStatus.SENT, WorkOrderStatus.ACKNOWLEDGED, WorkOrderStatus.IN_PROGRESS,
             WorkOrderStatus.COMPLETED)
STATUS_TIMES = {WorkOrderStatus.ACKNOWLEDGED: "acknowledged_at",
                WorkOrderStatus.IN_PROGRESS: "started_at",
                WorkOrderStatus.COMPLETED: "finished_at", WorkOrderStatus.CANCELLED: "finished_at"}


def ordering_key(work_order: WorkOrder) -> str:
    """Per work order: its material definitions travel first on the same key."""
    return f"work-order:{work_order.plant.code}:{work_order.number}"


def batch_gone_at_once(order: ProductionOrder) -> bool:
    """An order released after its shift's batch has gone, at a plant that sends those at once
    (the others wait for the next batch, which takes every scheduled order planned before it
    ends)."""
    plant = order.plant
    if plant.late_release != LateRelease.AT_ONCE:
        return False
    shift = shift_of(plant_calendar(WorkCenter.objects.filter(plant=plant, active=True)
                                    .values_list("shift_starts", flat=True)),
                     ZoneInfo(plant.time_zone), order.planned_start)
    return shift is not None and ShiftBatch.objects.filter(plant=plant,
                                                           shift_key=shift[0].key).exists()


def work_orders_for_released(*, orders: Iterable[ProductionOrder], actor: AbstractBaseUser | None,
                             reason: str) -> list[WorkOrder]:
    """The work orders of production orders that have just been released, built in the caller's
    transaction. An order that has its work order for the plant's MES already gets nothing new:
    a repeated release changes nothing, and an acknowledged work order is never re-created."""
    built = []
    for order in orders:
        if order.status != ProductionOrderStatus.RELEASED:
            continue
        mes = order.plant.mes_system
        if WorkOrder.objects.filter(production_order=order, mes_system=mes).exists():
            continue
        built.append(build_in_place(order, None, actor=actor, reason=reason))
    return built


def work_order_rebuild(*, work_order: WorkOrder, actor: AbstractBaseUser | None,
                       reason: str) -> WorkOrder:
    """Build a held work order again, after its cause was fixed (a routing released, an mBOM
    generated, the plant given an MES): sent if nothing holds it any more, else held with the
    reasons that remain. A work order that was sent is never rebuilt."""
    reason = require_reason(reason)
    with transaction.atomic():
        work_order = WorkOrder.objects.select_for_update().get(pk=work_order.pk)
        if work_order.status != WorkOrderStatus.HELD:
            raise StateConflict(
                f"{work_order} is {work_order.get_status_display().lower()}: only a held work "
                "order is rebuilt.", [ErrorItem("/status", "not_held", "Not held.")])
        order = _locked_order(work_order.production_order_id)
        return build_in_place(order, work_order, actor=actor, reason=reason)


def work_order_status_report(*, work_order: WorkOrder, status: str,
                             actor: AbstractBaseUser | None, reason: str) -> WorkOrder:
    """The MES's report of where a work order is. A repeat of the current status changes
    nothing; a move the state machine does not allow is a conflict."""
    reason = require_reason(reason)
    if status not in WORK_ORDER_MOVES:
        raise StateConflict(f"The MES reports {', '.join(WORK_ORDER_MOVES)}, not {status!r}.",
                            [ErrorItem("/status", "invalid_choice", "Not a reported status.")])
    with transaction.atomic():
        work_order = WorkOrder.objects.select_for_update().get(pk=work_order.pk)
        if work_order.status == status:
            return work_order
        if work_order.status not in WORK_ORDER_MOVES[status]:
            detail = (f"{work_order} is {work_order.get_status_display().lower()}; it cannot "
                      f"become {WorkOrderStatus(status).label.lower()}.")
            raise StateConflict(detail, [ErrorItem("/status", "transition_not_allowed", detail)],
                                code="transition-not-allowed")
        now = timezone.now()
        if work_order.status == WorkOrderStatus.PENDING and work_order.sent_at is None:
            work_order.sent_at = now  # the MES has it, whatever the outbox has recorded yet
        work_order.status = status
        setattr(work_order, STATUS_TIMES[status], now)
        audited(work_order, actor, reason).save()
    return work_order


def work_order_rejected_by_mes(*, work_order: WorkOrder, reasons: Sequence[str],
                               actor: AbstractBaseUser | None, reason: str) -> AttentionItem:
    """The MES answered the work order with a rejecting acknowledgement: its status stays (the
    MES has the document), and the flow monitor shows the rejection until a person resolves
    it with the plant."""
    reason = require_reason(reason)
    why = "; ".join(r for r in reasons if r) or "no reason given"
    return attention_raise(
        kind=REJECTED_KIND, about=work_order, system=work_order.mes_system, actor=actor,
        reference=f"Work order {work_order.number} ({work_order.plant.code})",
        reason=f"The MES rejected it: {why}",
        admin_url=reverse("admin:orders_workorder_change", args=[work_order.pk]))


def work_orders_mark_sent(*, about_ids: Sequence[str], delivered_at: datetime) -> None:
    """The outbox delivered these work orders' documents (a flows delivery hook)."""
    _mark_sent(Q(pk__in=[int(i) for i in about_ids]), delivered_at)


def batch_messages_delivered(*, about_ids: Sequence[str], delivered_at: datetime) -> None:
    """The outbox delivered these shift batches' documents: their work orders are sent (a flows
    delivery hook)."""
    _mark_sent(Q(shift_batch_id__in=[int(i) for i in about_ids]), delivered_at)


def _mark_sent(which: Q, delivered_at: datetime) -> None:
    # Runs in the drainer's transaction: the MES and its service user come with the rows. A work
    # order with a message still waiting behind this one (a change queued after the original)
    # is sent when that one is delivered.
    waiting = WorkOrder.outbound_messages.through.objects.filter(
        workorder_id=OuterRef("pk"), outboundmessage__status__in=OUTBOUND_WAITING)
    for work_order in (WorkOrder.objects.select_for_update(of=("self",))
                       .select_related("mes_system__service_user")
                       .filter(which, ~Exists(waiting), status=WorkOrderStatus.PENDING)):
        work_order.status, work_order.sent_at = WorkOrderStatus.SENT, delivered_at
        audited(work_order, work_order.mes_system.service_user if work_order.mes_system else None,
                "Delivered to the MES").save()


def work_order_acknowledge(*, work_order: WorkOrder, document: bytes,
                           actor: AbstractBaseUser | None, reason: str) -> WorkOrder:
    """The MES's B2MML AcknowledgeOperationsSchedule: validated against the official schema and
    parsed safely; it must name this work order. Accepted → acknowledged; rejected → the status
    stays and the rejection is raised for a person."""
    reason = require_reason(reason)
    if work_order.format != WorkOrderFormat.B2MML:
        raise invalid("", "unsupported_format",
                      f"Plant {work_order.plant.code} takes B2MML-JSON work orders: report the "
                      "status as JSON.")
    try:
        acknowledgement = parse_acknowledgement(document)
    except B2mmlError as exc:
        raise b2mml_refusal(exc, "acknowledgement") from None
    if work_order.number not in acknowledgement.request_ids:
        raise invalid(ACK_REQUEST_POINTER, "other_work_order",
                      f"The acknowledgement names {', '.join(acknowledgement.request_ids) or 'no'}"
                      f" work order, not {work_order.number}.")
    if not acknowledgement.accepted:
        work_order_rejected_by_mes(work_order=work_order, reasons=acknowledgement.reasons,
                                   actor=actor, reason=reason)
        return work_order
    return work_order_status_report(work_order=work_order, status=WorkOrderStatus.ACKNOWLEDGED,
                                    actor=actor, reason=reason)


# --- Building --------------------------------------------------------------------------------

def _locked_order(pk: int) -> ProductionOrder:
    return (ProductionOrder.objects.select_for_update(of=("self",))
            .select_related("plant__mes_system", "part__base_unit", "unit", "revision",
                            "mbom_version__rule_set_version").get(pk=pk))


@dataclass
class Computed:
    """What the work order of `order` would be now: its plan, and what keeps it from the MES."""

    order: ProductionOrder
    quantity: Decimal
    version: MBomVersion | None
    routing: RoutingVersion | None
    plan: Plan
    holds: list[Hold]


def compute(order: ProductionOrder, *, accepted_version: int | None = None) -> Computed:
    """The work order `order` resolves to now (nothing written). An mBOM version that is no
    longer current holds it as superseded, unless a person accepted that very version."""
    plant, part = order.plant, order.part
    holds: list[Hold] = []
    if plant.mes_system is None:
        holds.append(Hold(HoldReason.NO_MES, f"Plant {plant.code} has no MES configured."))
    version = order.mbom_version
    if version is None:
        holds.append(Hold(HoldReason.NO_MBOM, order.resolution_note
                          or f"No mBOM version of {part.number} at {plant.code}."))
    elif not version.is_current and version.pk != accepted_version:
        holds.append(Hold(HoldReason.SUPERSEDED,
                          f"mBOM version {version.number} of {part.number} at {plant.code} is no "
                          "longer current: re-resolve the order, or send it as resolved."))
    as_of = order.resolved_as_of or plant_date(plant, order.planned_start)
    routing = routing_version_in_effect(part_id=part.pk, plant_id=plant.pk, as_of=as_of)
    if routing is None:
        holds.append(Hold(HoldReason.NO_ROUTING,
                          f"No released routing of {part.number} at {plant.code} is in effect on "
                          f"{as_of}."))
    if plant.work_order_timing == WorkOrderTiming.SHIFT_START and not plant_calendar(
            WorkCenter.objects.filter(plant=plant, active=True).values_list("shift_starts",
                                                                             flat=True)):
        holds.append(Hold(HoldReason.NO_SHIFT, f"Plant {plant.code} sends at shift start, but "
                                               "none of its work centers has a shift calendar."))
    units = {u.code: Unit(u.code, u.dimension, u.factor) for u in UnitOfMeasure.objects.all()}
    try:
        quantity = convert(order.quantity, order.unit.code, part.base_unit.code, units,
                           part_conversions(part_ids=[part.pk]).get(part.number, ()))
    except UnitMismatch as error:
        holds.append(Hold(HoldReason.UNCONVERTIBLE_UNIT, f"Order quantity: {error}."))
        quantity = order.quantity
    plan = Plan((), ())
    if routing is not None and version is not None:
        plan = _plan(order, quantity, routing, units)
        holds += plan.holds
    return Computed(order, quantity, version, routing, plan, holds)


def write_built(work_order: WorkOrder, computed: Computed, *, actor: AbstractBaseUser | None,
                reason: str, now: datetime) -> None:
    """Record `computed` on the work order: its lineage, times, operations and materials (the
    previous build's are replaced). The document is rendered next (`render`)."""
    order, plant = computed.order, computed.order.plant
    if work_order.pk is not None:
        work_order.operations.all().delete()
    work_order.build_count += 1
    work_order.mes_system, work_order.plant, work_order.part = plant.mes_system, plant, order.part
    work_order.quantity, work_order.unit = computed.quantity, order.part.base_unit
    work_order.planned_start, work_order.planned_end = order.planned_start, order.planned_end
    work_order.revision, work_order.mbom_version = order.revision, computed.version
    work_order.rule_set_version = computed.version.rule_set_version if computed.version else None
    work_order.routing_version, work_order.format = computed.routing, plant.work_order_format
    work_order.built_at, work_order.built_by = now, acting_user(actor)
    audited(work_order, actor, reason).save()
    _write_plan(work_order, computed.plan)


def render(work_order: WorkOrder, computed: Computed, *, verb: b2mml.ScheduleVerb,
           now: datetime) -> list[Hold]:
    """The work order's document (validated) onto the row; the schema's problems as holds."""
    rendered = work_order_document(
        _document(work_order, computed.order, computed.plan), fmt=work_order.format,
        bod_id=f"{work_order.number}-{work_order.build_count}", created_at=now, verb=verb)
    work_order.document, work_order.media_type = rendered.text, rendered.media_type
    work_order.document_sha256 = hashlib.sha256(rendered.text.encode()).hexdigest()
    return [Hold(HoldReason.SCHEMA_INVALID, f"Schema: {problem}") for problem in rendered.problems]


def held_reference(work_order: WorkOrder) -> str:
    return f"Work order {work_order.number} ({work_order.part.number} at {work_order.plant.code})"


def build_in_place(order: ProductionOrder, work_order: WorkOrder | None, *,
           actor: AbstractBaseUser | None, reason: str) -> WorkOrder:
    """Build a work order the MES does not have yet, and send, schedule or hold it."""
    now = timezone.now()
    if work_order is None:
        work_order = WorkOrder(production_order=order, number=order.number, built_at=now,
                               build_count=0)
    computed = compute(order, accepted_version=work_order.decision_context.get(
        "accepted_mbom_version"))
    work_order.document = work_order.media_type = work_order.document_sha256 = ""
    work_order.status = WorkOrderStatus.HELD
    work_order.hold_reasons = []
    write_built(work_order, computed, actor=actor, reason=reason, now=now)
    holds = list(computed.holds)
    if not holds:
        holds += render(work_order, computed, verb=b2mml.ScheduleVerb.PROCESS, now=now)
    work_order.hold_reasons = [{"code": h.code, "detail": h.detail} for h in holds]
    superseded = [h.detail for h in holds if h.code == HoldReason.SUPERSEDED]
    if superseded:
        # A change order's hold (guard.py) keeps what it said; a build finding it alone says so.
        work_order.awaiting_decision = WorkOrderDecision.SUPERSEDED
        work_order.decision_context = {"as_resolved_allowed": True, "detail": superseded[0],
                                       **{k: v for k, v in work_order.decision_context.items()
                                          if k in ("change_order", "as_resolved_allowed")}}
    elif work_order.awaiting_decision == WorkOrderDecision.SUPERSEDED:
        work_order.awaiting_decision = WorkOrderDecision.NONE
    if holds:
        audited(work_order, actor, reason).save()
        attention_raise(kind=ATTENTION_KIND, about=work_order, system=order.plant.mes_system,
                        reference=held_reference(work_order),
                        reason="; ".join(h.detail for h in holds), actor=actor,
                        admin_url=reverse("admin:orders_workorder_change", args=[work_order.pk]))
        return work_order
    release_built(work_order, actor=actor, reason=reason)
    return work_order


def release_built(work_order: WorkOrder, *, actor: AbstractBaseUser | None, reason: str) -> None:
    """A built work order with a valid document that nothing holds: scheduled for its shift's
    batch at a shift-start plant, else written to the outbox now."""
    order = work_order.production_order
    work_order.ordering_key = ordering_key(work_order)
    if (order.plant.work_order_timing == WorkOrderTiming.SHIFT_START
            and not batch_gone_at_once(order)):
        # Sent by its shift's batch (thread.orders.work_orders.batches).
        work_order.status = WorkOrderStatus.SCHEDULED
        audited(work_order, actor, reason).save()
        attention_resolve(kind=ATTENTION_KIND, about=work_order, actor=actor,
                          resolution=f"Built, scheduled for its shift: {reason}")
        return
    work_order.status = WorkOrderStatus.PENDING
    audited(work_order, actor, reason).save()
    work_order_messages_write(work_order=work_order, now=timezone.now())
    attention_resolve(kind=ATTENTION_KIND, about=work_order, actor=actor,
                      resolution=f"Built and sent: {reason}")


def _plan(order: ProductionOrder, quantity: Decimal, routing, units: dict[str, Unit]) -> Plan:
    plant = order.plant
    steps = [Step(op.pk, op.sequence, op.operation_code, op.description, op.work_center.code,
                  op.work_center.plant.code, op.setup_minutes, op.run_minutes, op.queue_minutes,
                  op.move_minutes, op.milestone, op.reports_quantity, op.instructions,
                  op.document_reference) for op in routing_operations(routing)]
    rows = list(MBomLine.objects.filter(version=order.mbom_version).values_list(
        "pk", "position", "part_id", "part__number", "part__base_unit__code",
        "unrounded_quantity", "unit__code", "operation", "item_type"))
    part_ids = {row[2] for row in rows}
    plant_units = dict(PlantPart.objects.filter(plant=plant, part_id__in=part_ids,
                                                unit__isnull=False)
                       .values_list("part__number", "unit__code"))
    issue_units = {row[3]: plant_units.get(row[3], row[4]) for row in rows}
    lines = [Line(pk, position, number, unrounded, unit, operation, item_type)
             for pk, position, _, number, _, unrounded, unit, operation, item_type in rows]
    return work_order_plan(plant=plant.code, part=order.part.number, quantity=quantity,
                           unit=order.part.base_unit.code, steps=steps, lines=lines, units=units,
                           issue_units=issue_units, part_conversions=part_conversions(part_ids=part_ids))


def _write_plan(work_order: WorkOrder, plan: Plan) -> None:
    centers = dict(RoutingOperation.objects.filter(
        pk__in=[planned.step.id for planned in plan.operations]).values_list("pk", "work_center_id"))
    operations = WorkOrderOperation.objects.bulk_create([
        WorkOrderOperation(
            work_order=work_order, routing_operation_id=planned.step.id,
            sequence=planned.step.sequence, operation_code=planned.step.code,
            description=planned.step.description, work_center_id=centers[planned.step.id],
            setup_minutes=planned.step.setup_minutes, run_minutes=planned.step.run_minutes,
            queue_minutes=planned.step.queue_minutes, move_minutes=planned.step.move_minutes,
            planned_minutes=planned.planned_minutes, milestone=planned.step.milestone,
            reports_quantity=planned.step.reports_quantity,
            instructions=planned.step.instructions,
            document_reference=planned.step.document_reference)
        for planned in plan.operations])
    if not operations:
        return
    numbers = {m.part for planned in plan.operations for m in planned.materials}
    unit_codes = {m.unit for planned in plan.operations for m in planned.materials}
    parts = dict(Part.objects.filter(number__in=numbers)
                 .values_list("number", "pk"))
    units = dict(UnitOfMeasure.objects.filter(code__in=unit_codes).values_list("code", "pk"))
    WorkOrderMaterial.objects.bulk_create([
        WorkOrderMaterial(operation=operation, position=index, part_id=parts[m.part],
                          quantity=m.quantity, unit_id=units[m.unit], produced=m.produced,
                          mbom_line_id=m.line_id)
        for operation, planned in zip(operations, plan.operations, strict=True)
        for index, m in enumerate(planned.materials, start=1)], batch_size=2000)




def _document(work_order: WorkOrder, order: ProductionOrder, plan: Plan) -> b2mml.WorkOrderDocument:
    numbers = {m.part for planned in plan.operations for m in planned.materials}
    return work_order_data(
        plan, number=work_order.number, production_order=order.number,
        plant=work_order.plant.code, part=work_order.part.number,
        part_description=work_order.part.name,
        revision=work_order.revision.label if work_order.revision else "",
        quantity=work_order.quantity, unit=work_order.unit.code,
        planned_start=order.planned_start, planned_end=order.planned_end,
        lineage=_lineage(work_order),
        descriptions=dict(Part.objects.filter(number__in=numbers).values_list("number", "name")))


def _lineage(work_order: WorkOrder) -> dict[str, str]:
    lineage = {"revision": f"{work_order.part.number} {work_order.revision.label}"
               if work_order.revision else ""}
    if work_order.mbom_version is not None:
        lineage["mbom_version"] = str(work_order.mbom_version_id)
    if work_order.rule_set_version is not None:
        lineage["rule_set_version"] = str(work_order.rule_set_version)
    if work_order.routing_version is not None:
        lineage["routing_version"] = str(work_order.routing_version)
    return {k: v for k, v in lineage.items() if v}


def work_order_messages_write(*, work_order: WorkOrder, now: datetime) -> list:
    """The outbox messages of a built work order, in the caller's transaction: for a B2MML MES
    first the definitions of parts it has not received yet, then the work order, on one ordering
    key so the MES never gets a work order naming a material it does not know."""
    order = work_order.production_order
    messages = material_definitions_write(
        mes=work_order.mes_system, work_orders=[work_order], about=work_order, cause=order,
        key=work_order.ordering_key, bod_id=f"{work_order.number}-{work_order.build_count}",
        now=now)
    messages.append(outbound_message_write(
        system=work_order.mes_system, topic=TOPIC, about=work_order, cause=order,
        ordering_key=work_order.ordering_key,
        payload=document_payload(media_type=work_order.media_type, text=work_order.document)))
    work_order.outbound_messages.add(*messages)
    return messages


def material_definitions_write(*, mes, work_orders: Sequence[WorkOrder], about, cause, key: str,
                               bod_id: str, now: datetime, known: Iterable[str] = ()) -> list:
    """For a B2MML MES, a ProcessMaterialDefinition of the parts in these work orders that it
    has not received in a delivered work order yet, nor are `known` (nothing for a JSON MES, or
    when it knows them all)."""
    if work_orders[0].format != WorkOrderFormat.B2MML:
        return []
    used = set(WorkOrderMaterial.objects.filter(operation__work_order__in=work_orders)
               .values_list("part__number", flat=True).distinct())
    # A changed work order's parts are the new build's: what its earlier build taught the MES
    # comes in `known`.
    known = set(known) | set(WorkOrderMaterial.objects.filter(
        operation__work_order__mes_system=mes, operation__work_order__status__in=DELIVERED,
        part__number__in=used).exclude(operation__work_order__in=work_orders)
        .values_list("part__number", flat=True).distinct())
    new = sorted(used - known)
    if not new:
        return []
    parts = {p.number: p for p in Part.objects.filter(number__in=new).select_related("base_unit")}
    definitions = material_definitions_document(
        [b2mml.MaterialDefinition(part=n, description=parts[n].name,
                                  unit=parts[n].base_unit.code) for n in new],
        bod_id=f"{bod_id}-materials", created_at=now)
    return [outbound_message_write(
        system=mes, topic=DEFINITIONS_TOPIC, about=about, cause=cause, ordering_key=key,
        payload=document_payload(media_type=definitions.media_type, text=definitions.text))]
