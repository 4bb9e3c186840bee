"""Posting shop-floor results with their roll-ups, against inserting the same result rows alone,
in the same run (docs/feedback.md).

RESULTS results (default 20,000) over 40 work orders of one part at one plant, two operations
each, spread over 10 plant-local days, 5 % of them corrections of an earlier one. Three ways:
- floor (bulk): the same OperationResult rows written with one bulk INSERT per 1,000;
- floor (one by one): each row INSERTed in its own transaction, as one request would;
- Thread: `operation_result_record` per result, each in its own transaction — the checks, the
  result, its day in the roll-ups (locked row), the thresholds and the work order's status.
The results go through the service, not HTTP (the inbox and the API cost what any push costs).
Runs in a throwaway test database: `DATABASE_URL=postgres://… ./run bench feedback_results`.
"""

import os
import random
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402

RESULTS = int(os.environ.get("BENCH_RESULTS", "20000"))
WORK_ORDERS, DAYS, SEED = 40, 10, 20261207


def world():
    """A plant with an ERP and an MES, a released part with a two-step routing, and WORK_ORDERS
    work orders at the MES (built by Thread from the ERP's production orders)."""
    from thread.catalog import services as catalog
    from thread.flows import services as flows
    from thread.orders.models import RoutingOperation, WorkOrder, WorkOrderOperation
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
    start = timezone.now() - timedelta(days=DAYS)
    production_orders_upsert(system=erp, orders=[
        ProductionOrderInput(number=f"{1000000 + n}", part="BK-100", plant="BER",
                             quantity=Decimal(1000), unit="pcs", planned_start=start,
                             planned_end=start, status="released")
        for n in range(WORK_ORDERS)], actor=None, reason="bench")
    # The bench measures results, not mBOMs: the work orders, held for want of one, are taken
    # as sent with the routing's operations.
    WorkOrder.objects.update(status="sent", revision=revision)
    steps = list(RoutingOperation.objects.filter(version__routing__part=part))
    WorkOrderOperation.objects.bulk_create([
        WorkOrderOperation(work_order=order, routing_operation=step, sequence=step.sequence,
                           operation_code=step.operation_code, work_center=step.work_center,
                           setup_minutes=step.setup_minutes, run_minutes=step.run_minutes,
                           planned_minutes=step.setup_minutes + step.run_minutes * 1000)
        for order in WorkOrder.objects.all() for step in steps])
    return mes, list(WorkOrder.objects.order_by("number").values_list("number", flat=True))


def stream(numbers: list[str]):
    rng = random.Random(SEED)
    now = timezone.now()
    for n in range(RESULTS):
        good = Decimal(rng.randint(0, 20))
        scrap = Decimal(rng.randint(0, 2)) if good else Decimal(1)
        ended = now - timedelta(days=rng.randint(0, DAYS - 1), minutes=rng.randint(0, 600))
        yield {"work_order": numbers[n % len(numbers)], "operation": rng.choice([10, 20]),
               "report_id": f"r-{n}", "good_quantity": good, "scrap_quantity": scrap,
               "scrap_reason": "DENT" if scrap else "",
               "setup_minutes": Decimal(rng.randint(5, 40)),
               "run_minutes": Decimal(rng.randint(10, 900)),
               "started_at": ended - timedelta(minutes=30), "ended_at": ended,
               "corrects": f"r-{n - 40}" if n >= 40 and n % 20 == 0 else ""}


def floor_rows(mes, numbers):
    from thread.feedback.models import OperationResult
    from thread.orders.models import WorkOrder, WorkOrderOperation

    orders = {w.number: w for w in WorkOrder.objects.filter(number__in=numbers)}
    operations = {(o.work_order_id, o.sequence): o for o in
                  WorkOrderOperation.objects.select_related("work_center")}
    now = timezone.now()
    rows = []
    for given in stream(numbers):
        order = orders[given["work_order"]]
        operation = operations[(order.pk, given["operation"])]
        rows.append(OperationResult(
            work_order=order, operation=operation, system=mes, report_id=given["report_id"],
            plant_id=order.plant_id, revision_id=order.revision_id,
            operation_code=operation.operation_code, work_center=operation.work_center,
            good_quantity=given["good_quantity"], scrap_quantity=given["scrap_quantity"],
            scrap_reason=given["scrap_reason"], setup_minutes=given["setup_minutes"],
            run_minutes=given["run_minutes"], standard_setup_minutes=operation.setup_minutes,
            standard_run_minutes=operation.run_minutes, started_at=given["started_at"],
            ended_at=given["ended_at"], day=given["ended_at"].date(), recorded_at=now,
            reason="bench"))
    return rows


def timed(label: str, action) -> float:
    began = time.perf_counter()
    action()
    elapsed = time.perf_counter() - began
    print(f"{label:<48} {elapsed:8.2f} s  {RESULTS / elapsed:9,.0f} results/s", flush=True)
    return elapsed


def main() -> None:
    from thread.feedback.models import OperationResult, RollupDay
    from thread.feedback.services import ResultInput, operation_result_record

    mes, numbers = world()
    rows = floor_rows(mes, numbers)

    def bulk():
        with transaction.atomic():
            OperationResult.objects.bulk_create(rows, batch_size=1000)

    def one_by_one():
        for row in rows:
            row.pk = None
            with transaction.atomic():
                row.save(force_insert=True)

    def thread():
        for given in stream(numbers):
            operation_result_record(given=ResultInput(**given), system=mes, actor=None,
                                    reason="bench")

    print(f"{RESULTS:,} results over {len(numbers)} work orders, 2 operations, {DAYS} days; "
          f"PostgreSQL {connection.pg_version}", flush=True)
    floor = timed("floor: bulk INSERT of the result rows", bulk)
    OperationResult.objects.all().delete()
    each = timed("floor: one INSERT per transaction", one_by_one)
    OperationResult.objects.all().delete()
    ours = timed("Thread: operation_result_record (+ roll-ups)", thread)
    print(f"ratio to bulk INSERT {ours / floor:6.1f}x, to one INSERT per transaction "
          f"{ours / each:5.2f}x; {RollupDay.objects.count()} roll-up days, "
          f"{datetime.now():%Y-%m-%d}", flush=True)


if __name__ == "__main__":
    names = setup_databases(verbosity=0, interactive=False)
    try:
        main()
    finally:
        teardown_databases(names, verbosity=0)
