"""Fixtures of the work-order tests: the test MES on both plants, work centers, and the bike's
routing at Berlin pushed by the test ERP."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from thread.catalog import services as catalog
from thread.orders.routings.services import (
    OperationInput,
    WorkCenterInput,
    routing_push,
    work_centers_upsert,
)
from thread.orders.services import production_order_status_set, production_orders_upsert

from .conftest import mo

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2027, 1, 20, 6, 0, tzinfo=BERLIN)
WORK_ORDERS = "/api/v1/orders/work-orders/"
ROUTINGS = "/api/v1/orders/routings/"
WORK_CENTERS = "/api/v1/orders/work-centers/"

BER_OPERATIONS = [
    OperationInput(sequence=10, operation_code="KIT", work_center="KIT-1",
                   setup_minutes=Decimal(10), run_minutes=Decimal("1.5")),
    OperationInput(sequence=20, operation_code="ASSY", work_center="ASM-1",
                   setup_minutes=Decimal(30), run_minutes=Decimal(40), milestone=True,
                   reports_quantity=True, instructions="Torque to 5 Nm",
                   document_reference="WI-7"),
]


@pytest.fixture
def shop_floor(bike, plants, erp, mes):
    """Both plants send work orders to the test MES; Berlin has KIT-1 and ASM-1, Charlotte
    FIN-A; the bike's Berlin routing is released from 2026-01-01."""
    for plant in plants.values():
        plant.mes_system = mes.system
        plant.save()
    work_centers_upsert(centers=[
        WorkCenterInput(plant="BER", code="KIT-1", name="Kitting"),
        WorkCenterInput(plant="BER", code="ASM-1", name="Assembly",
                        shift_starts={"mon": ["06:00", "14:00"]}),
        WorkCenterInput(plant="CLT", code="FIN-A", name="Final A")], actor=None, reason="t")
    routing = routing_push(system=erp.system, part="BK-100", plant="BER",
                           effective_from=datetime(2026, 1, 1).date(),
                           operations=BER_OPERATIONS, actor=None, reason="t")
    return {"plants": plants, "routing": routing.version, "erp": erp, "mes": mes}


def release(erp, number="1000001", plant="BER", qty="25", start=START, status="released"):
    """The ERP pushes a production order (released by default)."""
    production_orders_upsert(system=erp.system, orders=[mo(number, "BK-100", start, plant=plant,
                                                         qty=qty, status=status)],
                             actor=None, reason="t")


def set_status(order, status):
    return production_order_status_set(order=order, status=status, actor=None, reason="t")


def give_no_mes(plant):
    catalog.plant_update(plant=plant, actor=None, reason="t")
    plant.mes_system = None
    plant.save()
