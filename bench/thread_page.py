"""The thread page's server time against the same story read by its selectors alone, in the same
run (docs/feedback.md, "The thread page").

One released revision with ORDERS production orders (default 1,000; a work order each, with two
operations) and RESULTS shop-floor results (default 20,000) over 30 plant-local days, their
roll-ups recomputed. Measured, each the median of REPEAT runs:
- floor: `revision_story` (the selectors: every query and the figures), now and at a moment;
- Thread: GET of the page (the selectors, the SVG charts and the template) through Django's test
  client, signed in, now and at a moment;
and the number of queries each makes (which must not depend on ORDERS or RESULTS).
Runs in a throwaway test database: `DATABASE_URL=postgres://… ./run bench thread_page`.
"""

import os
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402

ORDERS = int(os.environ.get("BENCH_ORDERS", "1000"))
RESULTS = int(os.environ.get("BENCH_RESULTS", "20000"))
REPEAT, DAYS, SEED = 5, 30, 20261207


def world():
    """A plant with an ERP and an MES, a released part with a two-step routing, ORDERS
    production orders with their work orders, RESULTS results and their roll-ups."""
    from thread.catalog import services as catalog
    from thread.feedback.models import OperationResult
    from thread.feedback.services import rollups_recompute
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
    start = timezone.now() - timedelta(days=DAYS)
    for first in range(0, ORDERS, 500):
        production_orders_upsert(system=erp, orders=[
            ProductionOrderInput(number=f"{1000000 + n}", part="BK-100", plant="BER",
                                 quantity=Decimal(100), unit="pcs", planned_start=start,
                                 planned_end=start, status="released")
            for n in range(first, min(first + 500, ORDERS))], actor=None, reason="bench")
    # The bench measures the story, not mBOMs: the work orders, held for want of one, are
    # taken as sent with the routing's operations.
    WorkOrder.objects.update(status="sent", revision=revision)
    ProductionOrder.objects.update(revision=revision)
    steps = list(RoutingOperation.objects.filter(version__routing__part=part)
                 .select_related("work_center"))
    WorkOrderOperation.objects.bulk_create([
        WorkOrderOperation(work_order=order, routing_operation=step, sequence=step.sequence,
                           operation_code=step.operation_code, work_center=step.work_center,
                           setup_minutes=step.setup_minutes, run_minutes=step.run_minutes,
                           planned_minutes=step.setup_minutes + step.run_minutes * 100)
        for order in WorkOrder.objects.all() for step in steps], batch_size=2000)
    operations = list(WorkOrderOperation.objects.select_related("work_order", "work_center"))
    rng, now = random.Random(SEED), timezone.now()
    rows = []
    for n in range(RESULTS):
        operation = operations[n % len(operations)]
        good = Decimal(rng.randint(0, 20))
        scrap = Decimal(rng.randint(0, 2)) if good else Decimal(1)
        ended = now - timedelta(days=rng.randint(0, DAYS - 1), minutes=rng.randint(0, 600))
        rows.append(OperationResult(
            work_order=operation.work_order, operation=operation, system=mes,
            report_id=f"r-{n}", plant_id=operation.work_order.plant_id,
            revision=revision, operation_code=operation.operation_code,
            work_center=operation.work_center, good_quantity=good, scrap_quantity=scrap,
            scrap_reason=rng.choice(["DENT", "MISALIGNED", "SCRATCH"]) if scrap else "",
            setup_minutes=Decimal(rng.randint(5, 40)), run_minutes=Decimal(rng.randint(10, 900)),
            standard_setup_minutes=operation.setup_minutes,
            standard_run_minutes=operation.run_minutes, started_at=ended - timedelta(minutes=30),
            ended_at=ended, day=ended.date(), recorded_at=ended, reason="bench"))
    OperationResult.objects.bulk_create(rows, batch_size=2000)
    rollups_recompute()
    return revision


def timed(label: str, action) -> float:
    times, queries = [], 0
    for _ in range(REPEAT):
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            action()
            times.append(time.perf_counter() - began)
        queries = len(captured.captured_queries)
    median = statistics.median(times)
    print(f"{label:<52} {median * 1000:8.0f} ms  {queries:3d} queries", flush=True)
    return median


def main() -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from thread.feedback.story.selectors import revision_story

    revision = world()
    moment = timezone.now()  # after everything: the moment path reads all of it
    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.create_superuser("bench", "b@example.com", "pw"))
    page = f"/admin/thread/{revision.part.number}/{revision.label}/"

    def get(path: str):
        response = client.get(path)
        assert response.status_code == 200, response.status_code

    print(f"{ORDERS:,} production orders, {RESULTS:,} results over {DAYS} days; "
          f"PostgreSQL {connection.pg_version}", flush=True)
    floor_now = timed("floor: revision_story (selectors), now",
                      lambda: revision_story(revision=revision))
    floor_at = timed("floor: revision_story (selectors), at a moment",
                     lambda: revision_story(revision=revision, at=moment))
    page_now = timed("Thread: GET the thread page, now", lambda: get(page))
    page_at = timed("Thread: GET the thread page, at a moment",
                    lambda: get(f"{page}?at={moment.isoformat().replace('+', '%2B')}"))
    print(f"ratio page/selectors: now {page_now / floor_now:5.2f}x, at a moment "
          f"{page_at / floor_at:5.2f}x; {datetime.now():%Y-%m-%d}", flush=True)


if __name__ == "__main__":
    names = setup_databases(verbosity=0, interactive=False)
    try:
        main()
    finally:
        teardown_databases(names, verbosity=0)
