"""Manufacturing and purchase orders in from the ERPs Thread polls (Odoo, ERPNext:
docs/connectors.md).

A scheduled task asks each such system's connector (`connectors.registry.orders_reader`) for
the manufacturing orders and the purchase orders (with all their lines) modified since its
mark, as plain data, and writes them into the mirrors through the same services the ERP's push
uses — so resolution, history, impact flags and work orders behave exactly as for a pushed order
— keyed by the ERP's reference. Each kind has its mark: the peer's "modified" position of the
last record read, stored in the transaction that stores the batch, so a poll that dies before
that commit reads the batch again and the repeated upserts change nothing. The reader starts a
few minutes before the mark (a transaction that commits after a later one carries its own start
as its modified time), so no record written during a poll is skipped. A failed poll keeps its
mark, records the error on it and opens an attention item on the flow monitor; the next good
poll resolves it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from connectors.orders import ManufacturingOrder, PurchaseOrder
from connectors.registry import orders_reader, reads_orders
from thread.catalog.models import Part, Plant
from thread.flows.attention import attention_raise, attention_resolve
from thread.flows.delivery import client_for, peer_config
from thread.flows.models import ExternalSystem

from .choices import ProductionOrderStatus, PurchaseOrderStatus
from .erp_poll import PollReport, polled_plant
from .models import ErpPollMark
from .services import (
    ProductionOrderInput,
    PurchaseOrderInput,
    PurchaseOrderLineInput,
    production_orders_upsert,
    purchase_orders_upsert,
)

MANUFACTURING, PURCHASE = "manufacturing_orders", "purchase_orders"
ATTENTION_KIND = "erp_poll_failed"
REASON = "Orders read from the ERP"


def polled_erp_systems() -> list[ExternalSystem]:
    """The enabled ERP systems whose connector reads their orders."""
    return [system for system in ExternalSystem.objects.filter(kind="erp", enabled=True)
            .exclude(connector="") if reads_orders(system.connector)]


def erp_orders_poll(*, system: ExternalSystem, now: datetime | None = None) -> list[PollReport]:
    """Read the system's manufacturing, then purchase orders (see the module docstring); one
    report each. One kind failing does not stop the other."""
    now = now or timezone.now()
    reports = []
    for kind, write in ((MANUFACTURING, _production), (PURCHASE, _purchase)):
        reports.append(_poll(system, kind, write, now))
    return reports


def _poll(system: ExternalSystem, kind: str, write: Callable, now: datetime) -> PollReport:
    report = PollReport(system.name)
    mark, _ = ErpPollMark.objects.get_or_create(system=system, kind=kind)
    try:
        plant = polled_plant(system)
        reader = orders_reader(system.connector, client_for(system), peer_config(system),
                               deadline=time.monotonic() + system.connect_timeout_seconds
                               + system.read_timeout_seconds)
        # The reader's method of the same name as the kind: manufacturing_orders, purchase_orders.
        found = getattr(reader, kind)(reader.since(mark.mark or None, now))
        report.read = len(found)
        with transaction.atomic():
            report.written = write(system, plant, found, report)
            if found:
                mark.mark = max(order.modified for order in found)
            mark.polled_at, mark.last_count, mark.last_error = timezone.now(), report.read, ""
            mark.save()
            attention_resolve(kind=ATTENTION_KIND, about=mark,
                              resolution=f"read again: {report.read} orders")
    except Exception as exc:  # recorded for the operator, tried again by the next poll
        report.error = str(exc) or type(exc).__name__
        ErpPollMark.objects.filter(pk=mark.pk).update(last_error=report.error[:2000],
                                                      polled_at=timezone.now())
        attention_raise(kind=ATTENTION_KIND, about=mark, system=system,
                        reference=f"{system.name}: {kind.replace('_', ' ')}",
                        reason=f"Reading {kind.replace('_', ' ')} from the ERP failed: "
                               f"{report.error[:500]}")
    return report


def _known(numbers: set[str]) -> set[str]:
    return set(Part.objects.filter(number__in=numbers).values_list("number", flat=True))


def _production(system: ExternalSystem, plant: Plant, found: Sequence[ManufacturingOrder],
                report: PollReport) -> int:
    known = _known({order.part for order in found})
    inputs = []
    for order in found:
        if order.part not in known or not order.status or order.quantity <= 0 \
                or order.start is None:
            report.skipped.append(f"{order.name}: product {order.part or '?'}, "
                                  f"state {order.state}")
            continue
        inputs.append(ProductionOrderInput(
            number=order.name, part=order.part, plant=plant.code, quantity=order.quantity,
            unit=order.unit, planned_start=order.start,
            planned_end=max(order.start, order.end or order.start),
            status=ProductionOrderStatus(order.status), erp_status=order.state))
    if not inputs:
        return 0
    result = production_orders_upsert(system=system, orders=inputs,
                                      actor=system.service_user, reason=REASON)
    return len(result.created) + len(result.updated)


def _purchase(system: ExternalSystem, plant: Plant, found: Sequence[PurchaseOrder],
              report: PollReport) -> int:
    known = _known({line.part for order in found for line in order.lines})
    inputs = []
    for order in found:
        lines = []
        for line in order.lines:
            due = line.due or order.ordered_on
            if line.part not in known or line.quantity <= 0 or due is None:
                report.skipped.append(f"{order.name} line {line.id}: product "
                                      f"{line.part or '?'}")
                continue
            lines.append(PurchaseOrderLineInput(
                line_number=line.id, part=line.part, quantity=line.quantity, unit=line.unit,
                due_date=due, received_quantity=line.received,
                status=_line_status(order, line.quantity, line.received)))
        if not lines:
            report.skipped.append(f"{order.name}: no line of a part Thread knows")
            continue
        inputs.append(PurchaseOrderInput(
            number=order.name, supplier=order.supplier or "?", plant=plant.code,
            status=_order_status(order, lines), lines=lines, erp_status=order.state,
            order_date=order.ordered_on))
    if not inputs:
        return 0
    result = purchase_orders_upsert(system=system, orders=inputs, actor=system.service_user,
                                    reason=REASON)
    return len(result.created) + len(result.updated)


def _line_status(order: PurchaseOrder, quantity, received) -> str:
    if order.cancelled:
        return PurchaseOrderStatus.CANCELLED
    if received >= quantity:
        return PurchaseOrderStatus.CLOSED
    return PurchaseOrderStatus.PARTIALLY_RECEIVED if received > 0 else PurchaseOrderStatus.OPEN


def _order_status(order: PurchaseOrder, lines: Sequence[PurchaseOrderLineInput]) -> str:
    """By the lines' receipts (Odoo's `done` is locked, not received), unless the ERP closed or
    cancelled the order."""
    if order.cancelled:
        return PurchaseOrderStatus.CANCELLED
    if order.closed:
        return PurchaseOrderStatus.CLOSED
    statuses = {line.status for line in lines}
    if statuses == {PurchaseOrderStatus.CLOSED}:
        return PurchaseOrderStatus.CLOSED
    if statuses & {PurchaseOrderStatus.CLOSED, PurchaseOrderStatus.PARTIALLY_RECEIVED}:
        return PurchaseOrderStatus.PARTIALLY_RECEIVED
    return PurchaseOrderStatus.OPEN
