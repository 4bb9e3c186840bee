"""The shop floor the feedback benchmarks stand on (imported by them; not a benchmark itself):
a plant with an ERP and an MES, a released part BK-100 A with a two-step routing (KIT 10,
ASSY 20), and `orders` released production orders with their work orders at the MES."""

from datetime import date, datetime
from decimal import Decimal


def shop_floor(*, orders: int, quantity: Decimal, start: datetime):
    """Returns (the MES, the revision). The benchmarks measure results, not mBOMs: the work
    orders, held for want of one, are taken as sent with the routing's operations, and the
    orders as resolved to the revision."""
    from thread.catalog import services as catalog
    from thread.flows import services as flows
    from thread.orders.models import (
        ProductionOrder,
        RoutingOperation,
        WorkOrder,
        WorkOrderOperation,
    )
    from thread.orders.routings.services import (
        OperationInput,
        WorkCenterInput,
        routing_push,
        work_centers_upsert,
    )
    from thread.orders.services import ProductionOrderInput, production_orders_upsert

    pcs = catalog.unit_create(code="pcs", name="piece", dimension="count", factor=Decimal(1),
                              actor=None, reason="bench")
    erp = flows.system_create(name="ERP", kind="erp", actor=None, reason="bench")
    mes = flows.system_create(name="MES", kind="mes", actor=None, reason="bench")
    catalog.plant_create(code="BER", name="Berlin", time_zone="Europe/Berlin",
                         actor=None, reason="bench", erp_system=erp, mes_system=mes)
    part = catalog.part_create(number="BK-100", name="Bike", base_unit=pcs, actor=None,
                               reason="bench")
    revision = catalog.revision_create(part=part, label="A", actor=None, reason="bench")
    catalog.revision_release(revision=revision, actor=None, reason="bench")
    work_centers_upsert(centers=[WorkCenterInput(plant="BER", code="KIT-1", name="Kitting"),
                                 WorkCenterInput(plant="BER", code="ASM-1", name="Assembly")],
                        actor=None, reason="bench")
    routing_push(system=erp, part="BK-100", plant="BER", effective_from=date(2026, 1, 1),
                 operations=[OperationInput(sequence=10, operation_code="KIT",
                                            work_center="KIT-1", setup_minutes=Decimal(10),
                                            run_minutes=Decimal("1.5")),
                             OperationInput(sequence=20, operation_code="ASSY",
                                            work_center="ASM-1", setup_minutes=Decimal(30),
                                            run_minutes=Decimal(40))],
                 actor=None, reason="bench")
    for first in range(0, orders, 500):
        production_orders_upsert(system=erp, orders=[
            ProductionOrderInput(number=f"{1000000 + n}", part="BK-100", plant="BER",
                                 quantity=quantity, unit="pcs", planned_start=start,
                                 planned_end=start, status="released")
            for n in range(first, min(first + 500, orders))], actor=None, reason="bench")
    ProductionOrder.objects.update(revision=revision)
    WorkOrder.objects.update(status="sent", revision=revision)
    steps = list(RoutingOperation.objects.filter(version__routing__part=part)
                 .select_related("work_center"))
    WorkOrderOperation.objects.bulk_create([
        WorkOrderOperation(work_order=order, routing_operation=step, sequence=step.sequence,
                           operation_code=step.operation_code, work_center=step.work_center,
                           setup_minutes=step.setup_minutes, run_minutes=step.run_minutes,
                           planned_minutes=step.setup_minutes + step.run_minutes * quantity)
        for order in WorkOrder.objects.all() for step in steps], batch_size=2000)
    return mes, revision
