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
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench._shop_floor import shop_floor  # noqa: E402

RESULTS = int(os.environ.get("BENCH_RESULTS", "20000"))
WORK_ORDERS, DAYS, SEED = 40, 10, 20261207


def world():
    """The shop floor with WORK_ORDERS work orders of 1,000 at the MES (bench/_shop_floor.py)."""
    from thread.orders.models import WorkOrder

    mes, _ = shop_floor(orders=WORK_ORDERS, quantity=Decimal(1000),
                        start=timezone.now() - timedelta(days=DAYS))
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
