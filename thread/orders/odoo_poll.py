"""Manufacturing and purchase orders in from an Odoo that Thread polls (docs/connectors.md, "Odoo").

A scheduled task asks each Odoo system's connector for the manufacturing orders (`mrp.production`)
and the purchase orders (`purchase.order` with their lines) written since its mark, and writes
them into the mirrors through the same services the ERP's push uses — so resolution, history,
impact flags and work orders behave exactly as for a pushed order — keyed by Odoo's reference
(WH/MO/00012, P00042). Each kind has its mark: the last `write_date` read, stored in the
transaction that stores the batch, so a poll that dies before that commit reads the batch again
and the repeated upserts change nothing. The next poll starts a few minutes before the mark (an
Odoo transaction that commits after a later one carries its own start as its write_date), so no
record written during a poll is skipped. A failed poll keeps its mark, records the error on it
and opens an attention item on the flow monitor; the next good poll resolves it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from connectors.odoo import OdooConnector
from connectors.odoo_orders import (
    ManufacturingOrder,
    OdooOrders,
    PurchaseOrder,
    first_poll_since,
    poll_since,
)
from connectors.registry import get_connector
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
REASON = "Orders read from Odoo"


def odoo_systems() -> list[ExternalSystem]:
    """The enabled ERP systems Thread reaches with the Odoo connector."""
    return [system for system in ExternalSystem.objects.filter(kind="erp", enabled=True)
            .exclude(connector="") if isinstance(_connector(system), OdooConnector)]


def _connector(system: ExternalSystem):
    try:
        return get_connector(system.connector)
    except LookupError:
        return None


def odoo_orders_poll(*, system: ExternalSystem, now: datetime | None = None) -> list[PollReport]:
    """Read the system's manufacturing, then purchase orders (see the module docstring); one
    report each. One kind failing does not stop the other."""
    now = now or timezone.now()
    reports = []
    for kind, read, write in ((MANUFACTURING, OdooOrders.manufacturing_orders, _production),
                              (PURCHASE, OdooOrders.purchase_orders, _purchase)):
        reports.append(_poll(system, kind, read, write, now))
    return reports


def _poll(system: ExternalSystem, kind: str, read: Callable, write: Callable,
          now: datetime) -> PollReport:
    report = PollReport(system.name)
    mark, _ = ErpPollMark.objects.get_or_create(system=system, kind=kind)
    try:
        plant = polled_plant(system)
        orders = OdooOrders(_connector(system), client_for(system), peer_config(system),
                            deadline=time.monotonic() + system.connect_timeout_seconds
                            + system.read_timeout_seconds)
        found = read(orders, poll_since(mark.mark) if mark.mark else first_poll_since(now))
        report.read = len(found)
        with transaction.atomic():
            report.written = write(system, plant, found, report)
            if found:
                mark.mark = max(order.write_date for order in found)
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
                        reason=f"Reading {kind.replace('_', ' ')} from Odoo failed: "
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
                status=_line_status(order.state, line.quantity, line.received)))
        if not lines:
            report.skipped.append(f"{order.name}: no line of a part Thread knows")
            continue
        inputs.append(PurchaseOrderInput(
            number=order.name, supplier=order.supplier or "?", plant=plant.code,
            status=_order_status(order.state, lines), lines=lines, erp_status=order.state,
            order_date=order.ordered_on))
    if not inputs:
        return 0
    result = purchase_orders_upsert(system=system, orders=inputs, actor=system.service_user,
                                    reason=REASON)
    return len(result.created) + len(result.updated)


def _line_status(state: str, quantity, received) -> str:
    if state == "cancel":
        return PurchaseOrderStatus.CANCELLED
    if received >= quantity:
        return PurchaseOrderStatus.CLOSED
    return PurchaseOrderStatus.PARTIALLY_RECEIVED if received > 0 else PurchaseOrderStatus.OPEN


def _order_status(state: str, lines: Sequence[PurchaseOrderLineInput]) -> str:
    """Odoo's `done` is locked, not received: Thread's status follows the lines' receipts."""
    if state == "cancel":
        return PurchaseOrderStatus.CANCELLED
    statuses = {line.status for line in lines}
    if statuses == {PurchaseOrderStatus.CLOSED}:
        return PurchaseOrderStatus.CLOSED
    if statuses & {PurchaseOrderStatus.CLOSED, PurchaseOrderStatus.PARTIALLY_RECEIVED}:
        return PurchaseOrderStatus.PARTIALLY_RECEIVED
    return PurchaseOrderStatus.OPEN
