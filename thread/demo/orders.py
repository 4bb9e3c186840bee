"""The demo's ERP orders, pushed through the order services as the demo ERP would: an open
purchase order for the MT-510 motor at Berlin (one delivery before ECO-1001's effectivity on
2027-01-15, one after) and production orders for the e-bike at Berlin and Charlotte planned
after it, so ECO-1001's impact page has something to show, and Charlotte's order 1000458 for
this week; the ERP then releases them, which sends or schedules their work orders. A second run
changes nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone

from thread.flows.models import ExternalSystem
from thread.orders.models import ProductionOrder
from thread.orders.services import (
    ProductionOrderInput,
    PurchaseOrderInput,
    PurchaseOrderLineInput,
    production_order_status_set,
    production_orders_upsert,
    purchase_orders_upsert,
)

BERLIN = ZoneInfo("Europe/Berlin")
REASON = "Demo: the ERP's open orders"

PURCHASE_ORDERS = [PurchaseOrderInput(
    number="4500012345", supplier="Drivetec GmbH", plant="BER", status="open", erp_status="NB",
    order_date=date(2026, 11, 20), lines=[
        PurchaseOrderLineInput(line_number=10, part="MT-510", quantity=Decimal(60), unit="pcs",
                               due_date=date(2027, 1, 8)),
        PurchaseOrderLineInput(line_number=20, part="MT-510", quantity=Decimal(80), unit="pcs",
                               due_date=date(2027, 2, 5)),
    ])]
CHARLOTTE = ZoneInfo("America/New_York")
# Pushed as planned; the ERP then releases them with its status push, and each release sends
# the work order to the plant's MES (Charlotte's is held: its routing lacks 0090-FLASH).
PRODUCTION_ORDERS = [
    ProductionOrderInput(
        number="1000456", part="BK-100", plant="BER", quantity=Decimal(50), unit="pcs",
        planned_start=datetime(2027, 1, 20, 6, 0, tzinfo=BERLIN),
        planned_end=datetime(2027, 1, 22, 14, 0, tzinfo=BERLIN), status="planned",
        erp_status="CRTD"),
    ProductionOrderInput(
        number="1000457", part="BK-100", plant="CLT", quantity=Decimal(20), unit="pcs",
        planned_start=datetime(2027, 1, 25, 7, 0, tzinfo=CHARLOTTE),
        planned_end=datetime(2027, 1, 26, 15, 0, tzinfo=CHARLOTTE), status="planned",
        erp_status="CRTD"),
]
RELEASE_REASON = "Demo: the ERP released the order (status REL)"
# Charlotte's order for this week: planned a few minutes after the demo starts, so the next
# quarter-hour shift batch sends it once its routing has the firmware station (README, "Try it").
SOON_NUMBER = "1000458"


def soon_order() -> ProductionOrderInput:
    start = (timezone.now() + timedelta(minutes=5)).astimezone(CHARLOTTE).replace(
        second=0, microsecond=0)
    return ProductionOrderInput(number=SOON_NUMBER, part="BK-100", plant="CLT",
                                quantity=Decimal(12), unit="pcs", planned_start=start,
                                planned_end=start + timedelta(hours=8), status="planned",
                                erp_status="CRTD")


def seed_orders() -> dict[str, int]:
    erp = ExternalSystem.objects.get(kind="erp", name="ERP")
    created: dict[str, int] = {}
    # The ERP pushes a production order once as planned; pushing it again after its release
    # would set it back to planned, which the ERP would not do.
    known = set(ProductionOrder.objects.filter(system=erp).values_list("number", flat=True))
    new_production = [o for o in (*PRODUCTION_ORDERS, soon_order()) if o.number not in known]
    for what, upsert, orders in (("purchase orders", purchase_orders_upsert, PURCHASE_ORDERS),
                                 ("production orders", production_orders_upsert,
                                  new_production)):
        if not orders:
            continue
        # Pushed as the demo ERP would: its service user is the actor, so history names it.
        result = upsert(system=erp, orders=orders, actor=erp.service_user, reason=REASON)
        if result.created:
            created[what] = len(result.created)
    for order in ProductionOrder.objects.filter(
            system=erp, number__in=[o.number for o in new_production], status="planned"):
        # The ERP's status push (POST …/production-orders/{id}/status/), as the sandbox ERP
        # would send it on release.
        production_order_status_set(order=order, status="released", erp_status="REL",
                                    actor=erp.service_user, reason=RELEASE_REASON)
        created["production orders released"] = created.get("production orders released", 0) + 1
    return created
