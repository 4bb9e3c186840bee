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
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_databases, teardown_databases  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench._shop_floor import shop_floor  # noqa: E402

ORDERS = int(os.environ.get("BENCH_ORDERS", "1000"))
RESULTS = int(os.environ.get("BENCH_RESULTS", "20000"))
REPEAT, DAYS, SEED = 5, 30, 20261207


def world():
    """The shop floor with ORDERS work orders of 100 (bench/_shop_floor.py), RESULTS results
    and their roll-ups."""
    from thread.feedback.models import OperationResult
    from thread.feedback.services import rollups_recompute
    from thread.orders.models import WorkOrderOperation

    mes, revision = shop_floor(orders=ORDERS, quantity=Decimal(100),
                               start=timezone.now() - timedelta(days=DAYS))
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
