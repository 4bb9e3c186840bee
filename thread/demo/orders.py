"""The demo's ERP orders, pushed through the order services as the demo ERP would: an open
purchase order for the MT-510 motor at Berlin (one delivery before ECO-1001's effectivity on
2027-01-15, one after) and a production order for the e-bike at Berlin planned after it, so
ECO-1001's impact page has something to show. A second run changes nothing."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from thread.flows.models import ExternalSystem
from thread.orders.services import (
    ProductionOrderInput,
    PurchaseOrderInput,
    PurchaseOrderLineInput,
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
PRODUCTION_ORDERS = [ProductionOrderInput(
    number="1000456", part="BK-100", plant="BER", quantity=Decimal(50), unit="pcs",
    planned_start=datetime(2027, 1, 20, 6, 0, tzinfo=BERLIN),
    planned_end=datetime(2027, 1, 22, 14, 0, tzinfo=BERLIN), status="released",
    erp_status="REL")]


def seed_orders() -> dict[str, int]:
    erp = ExternalSystem.objects.get(kind="erp", name="ERP")
    created: dict[str, int] = {}
    for what, upsert, orders in (("purchase orders", purchase_orders_upsert, PURCHASE_ORDERS),
                                 ("production orders", production_orders_upsert,
                                  PRODUCTION_ORDERS)):
        # Pushed as the demo ERP would: its service user is the actor, so history names it.
        result = upsert(system=erp, orders=orders, actor=erp.service_user, reason=REASON)
        if result.created:
            created[what] = len(result.created)
    return created
