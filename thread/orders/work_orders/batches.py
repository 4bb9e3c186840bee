"""Shift-start batches (docs/work-orders.md, "Timing"): at a plant whose timing is
`shift_start`, released work orders wait (`scheduled`) and are sent at the start of their
shift, in planned-start order — as one document with several OperationsRequests where the
plant's MES takes that, else one message each.

A django-q2 schedule runs `shift_batches_send` every minute. For each shift start that has
passed (within LOOKBACK), the plant's batch record is created once — the unique (plant, shift)
row is the claim, so running twice, or two clusters at once, sends nothing twice — and it sends
every scheduled work order of the plant planned to start before the shift ends. Orders of a
shift whose batch was missed (downtime longer than LOOKBACK) or released after their batch has
gone therefore travel with the next batch: nothing is skipped.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone

from connectors.b2mml.document import Envelope
from connectors.b2mml.json_form import operations_schedule_json, parse_operations_schedule_json
from connectors.b2mml.parse import parse_operations_schedule
from connectors.b2mml.validate import validate_xml
from connectors.b2mml.xml import operations_schedule_xml
from connectors.base import document_payload
from thread.catalog.choices import WorkOrderFormat, WorkOrderTiming
from thread.catalog.models import Plant
from thread.flows.outbox import outbound_message_write
from thread.history import audited

from ..choices import WorkOrderStatus
from ..models import ShiftBatch, WorkCenter, WorkOrder
from .documents import SENDER
from .guard import hold_superseded, superseded_detail
from .services import material_definitions_write, work_order_messages_write
from .shifts import ShiftStart, plant_calendar, shift_starts

BATCH_TOPIC = "work_order_batch"
LOOKBACK = timedelta(days=2)  # shift starts further back get no batch of their own
REASON = "Shift-start batch"


def shift_batches_send(*, now: datetime | None = None) -> list[ShiftBatch]:
    """Send the batches of every shift start that has passed and has none yet."""
    now = now or timezone.now()
    sent = []
    for plant in Plant.objects.filter(work_order_timing=WorkOrderTiming.SHIFT_START,
                                      mes_system__isnull=False).select_related("mes_system"):
        calendar = plant_calendar(WorkCenter.objects.filter(plant=plant, active=True)
                                  .values_list("shift_starts", flat=True))
        zone = ZoneInfo(plant.time_zone)
        due = shift_starts(calendar, zone, now - LOOKBACK, now + timedelta(microseconds=1))
        done = set(ShiftBatch.objects.filter(plant=plant, shift_key__in=[s.key for s in due])
                   .values_list("shift_key", flat=True))
        for start in due:
            if start.key in done:
                continue
            following = shift_starts(calendar, zone, start.at + timedelta(microseconds=1),
                                     start.at + timedelta(days=8))
            batch = _batch_send(plant, start, following[0].at if following else
                                start.at + timedelta(days=1), now)
            if batch is not None:
                sent.append(batch)
    return sent


def _batch_send(plant: Plant, start: ShiftStart, ends_at: datetime,
                now: datetime) -> ShiftBatch | None:
    try:
        with transaction.atomic():
            batch = ShiftBatch.objects.create(plant=plant, shift_key=start.key,
                                              starts_at=start.at, ends_at=ends_at, created_at=now)
            work_orders = _not_superseded(list(
                WorkOrder.objects.select_for_update(of=("self",))
                .filter(plant=plant, status=WorkOrderStatus.SCHEDULED,
                        production_order__planned_start__lt=ends_at)
                .select_related("production_order__revision", "mes_system", "plant", "part",
                                "revision", "mbom_version")
                .order_by("production_order__planned_start", "pk")))
            if work_orders:
                if plant.mes_takes_batches:
                    _send_as_one(batch, work_orders, now)
                else:
                    _send_each(batch, work_orders, now)
            batch.sent = len(work_orders)
            batch.save(update_fields=["sent", "document"])
    except IntegrityError:
        return None  # another run claimed this shift first
    return batch


def _not_superseded(work_orders: list[WorkOrder]) -> list[WorkOrder]:
    """The superseded guard at the last moment: a work order whose order now resolves to
    another revision or mBOM version, or whose mBOM version is no longer current, stays held for
    the analyst (guard.py) instead of going out with the batch."""
    sendable = []
    for work_order in work_orders:
        detail = superseded_detail(work_order)
        if detail:
            actor = work_order.mes_system.service_user if work_order.mes_system else None
            hold_superseded(work_order, detail, context={}, actor=actor,
                            reason=f"{REASON}: held as superseded")
        else:
            sendable.append(work_order)
    return sendable


def _send_each(batch: ShiftBatch, work_orders: list[WorkOrder], now: datetime) -> None:
    for work_order in work_orders:
        _mark_pending(work_order, batch, [])
        work_order_messages_write(work_order=work_order, now=now)


def _send_as_one(batch: ShiftBatch, work_orders: list[WorkOrder], now: datetime) -> None:
    """One document with every work order's OperationsRequest, in planned-start order: each
    read back from its own validated document (the round trip is exact), so the requests are
    what was built; the batch document is validated again before the outbox."""
    plant, mes = batch.plant, work_orders[0].mes_system
    bod_id = f"{plant.code}-{batch.shift_key.replace(' ', 'T')}"
    envelope = Envelope(sender=SENDER, bod_id=bod_id, created_at=now)
    key = f"work-order-batch:{plant.code}:{batch.shift_key}"
    if plant.work_order_format == WorkOrderFormat.JSON:
        requests = [r for w in work_orders for r in parse_operations_schedule_json(
            json.loads(w.document))]
        text = json.dumps(operations_schedule_json(requests, envelope=envelope,
                                                   schedule_id=bod_id), ensure_ascii=False,
                          indent=1)
        media_type = "application/json"
    else:
        requests = [r for w in work_orders for r in parse_operations_schedule(
            w.document.encode())]
        raw = operations_schedule_xml(requests, envelope=envelope, schedule_id=bod_id)
        if validate_xml(raw):
            # Each work order's own document is valid: send those rather than none.
            _send_each(batch, work_orders, now)
            return
        text, media_type = raw.decode(), "application/xml"
    messages = material_definitions_write(mes=mes, work_orders=work_orders, about=batch,
                                          cause=batch, key=key, bod_id=bod_id, now=now)
    messages.append(outbound_message_write(
        system=mes, topic=BATCH_TOPIC, about=batch, cause=batch, ordering_key=key,
        payload=document_payload(media_type=media_type, text=text)))
    batch.document = text
    digest = hashlib.sha256(text.encode()).hexdigest()
    for work_order in work_orders:
        # Each work order keeps the document exactly as it was sent: the batch's.
        work_order.document, work_order.media_type, work_order.document_sha256 = \
            text, media_type, digest
        work_order.ordering_key = key
        _mark_pending(work_order, batch, messages)


def _mark_pending(work_order: WorkOrder, batch: ShiftBatch, messages: list) -> None:
    work_order.status, work_order.shift_batch = WorkOrderStatus.PENDING, batch
    actor = work_order.mes_system.service_user if work_order.mes_system else None
    audited(work_order, actor, f"{REASON} {batch.shift_key}").save()
    work_order.outbound_messages.add(*messages)
