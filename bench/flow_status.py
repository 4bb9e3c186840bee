"""The flow status with 100,000 waiting messages: its selector, the endpoint through the whole
request stack, and the admin banner's alert signals, against a bare indexed `SELECT 1` (the
floor: one round trip) measured in the same run; and, for reference, the whole-table aggregates
the flow status used to run (counts by status, oldest waiting, last delivery, the last hour's
attempts joined through the messages).

Stages: first 1,000 waiting messages, then 100,000 (with as many delivered ones and 20,000
attempts of the last hour, most of them failed: an outage), so the table shows whether the cost
grows with the backlog. Rows are written straight in SQL (INSERT … SELECT generate_series; the
outbox's write path is not what is measured), then ANALYZEd as autovacuum would soon do; the
last stage runs again after a VACUUM, which lets the counts read their indexes alone.
Runs in a throwaway test database (test_<name> of DATABASE_URL, created and dropped here).
Usage: DATABASE_URL=postgres://… ./run bench flow_status
"""

import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_databases, teardown_databases  # noqa: E402

ROUNDS = 25
STATUS_URL = "/api/v1/flows/status/"


def timed(action) -> tuple[float, float, float, int]:
    """Median and best of ROUNDS (milliseconds) after one warm-up, the median time spent
    waiting for the database, and the queries of a round."""
    action()
    times, in_db, queries = [], [], 0
    for _ in range(ROUNDS):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            action()
            times.append((time.perf_counter() - start) * 1000)
        queries = len(captured.captured_queries)
        in_db.append(sum(float(query["time"]) for query in captured.captured_queries) * 1000)
    return statistics.median(times), min(times), statistics.median(in_db), queries


def load_messages(system_id: int, about_type_id: int, *, first: int, last: int) -> None:
    """Messages first..last of a system: a waiting backlog (75 % pending, 20 % retrying, 5 %
    sending under a live lease), as many delivered, and one dead in a hundred."""
    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO flows_outboundmessage
              (system_id, topic, about_type_id, about_id, cause_id, payload, idempotency_key,
               ordering_key, correlation_id, status, attempts, attempts_total, leases,
               created_at, enqueued_at, next_attempt_at, lease_until, lease_token, lease_owner,
               delivered_at, finished_at, last_error)
            SELECT %(system)s, 'mbom.published', %(about_type)s, n::text, '', '{"part": "BK-100"}'::jsonb,
                   'bench-' || %(system)s || '-' || n || '-' || s.status, 'mbom:BER:P-' || n, 'c-' || n,
                   s.status, 0, 0, 0,
                   now() - n * interval '1 second', now() - n * interval '1 second',
                   now() + interval '1 minute',
                   CASE WHEN s.status = 'sending' THEN now() + interval '1 minute' END, '', '',
                   CASE WHEN s.status = 'delivered' THEN now() - n * interval '1 second' END,
                   CASE WHEN s.status IN ('delivered', 'dead') THEN now() - n * interval '1 second' END,
                   ''
            FROM generate_series(%(first)s, %(last)s) n,
                 LATERAL (VALUES (CASE WHEN n %% 20 = 0 THEN 'sending'
                                       WHEN n %% 5 = 0 THEN 'retrying' ELSE 'pending' END),
                                 ('delivered')) s(status)
            UNION ALL
            SELECT %(system)s, 'mbom.published', %(about_type)s, n::text, '', '{}'::jsonb,
                   'bench-dead-' || %(system)s || '-' || n, 'mbom:BER:D-' || n, 'c', 'dead',
                   1, 1, 1, now(), now(), now(), NULL, '', '', NULL, now(), 'http-400'
            FROM generate_series(%(first)s, %(last)s) n WHERE n %% 100 = 0
        """, {"system": system_id, "about_type": about_type_id, "first": first, "last": last})


def load_attempts(system_id: int, *, count: int, failing: bool = True) -> None:
    """`count` attempts spread over the last hour. Failing: four in five failed (503), the
    newest ten refused connections, a peer in trouble; else all delivered."""
    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO flows_deliveryattempt
              (message_id, system_id, number, started_at, duration_ms, request_summary,
               response_status, response_excerpt, outcome, error_class, error, worker, task_id)
            SELECT (SELECT min(id) FROM flows_outboundmessage WHERE system_id = %(system)s),
                   %(system)s, n, now() - n * (interval '3600 seconds' / %(count)s), 12, '',
                   CASE WHEN NOT %(failing)s THEN 200 WHEN n <= 10 THEN NULL
                        WHEN n %% 5 = 0 THEN 200 ELSE 503 END, '',
                   CASE WHEN NOT %(failing)s OR (n > 10 AND n %% 5 = 0) THEN 'delivered'
                        ELSE 'retry' END,
                   CASE WHEN NOT %(failing)s OR (n > 10 AND n %% 5 = 0) THEN ''
                        WHEN n <= 10 THEN 'connection' ELSE 'http-503' END,
                   CASE WHEN NOT %(failing)s OR (n > 10 AND n %% 5 = 0) THEN ''
                        WHEN n <= 10 THEN 'ConnectError: [Errno 111] Connection refused'
                        ELSE 'the peer answered 503' END, 'bench:1', ''
            FROM generate_series(1, %(count)s) n
        """, {"system": system_id, "count": count, "failing": failing})


def whole_table_aggregates() -> list:
    """The flow status as it was (for reference): one aggregate over every message of every
    system, and the last hour's attempts joined through their messages."""
    from django.db.models import Count, Max, Min, Q
    from django.utils import timezone

    from thread.flows.choices import OUTBOUND_ACTIVE, AttemptOutcome, OutboundStatus
    from thread.flows.models import DeliveryAttempt, ExternalSystem

    now = timezone.now()
    messages = "outbound_messages__"
    counts = {f"n_{status}": Count("outbound_messages", filter=Q(**{f"{messages}status": status}))
              for status in OutboundStatus.values}
    rows = list(ExternalSystem.objects.annotate(
        **counts,
        oldest=Min(f"{messages}enqueued_at", filter=Q(**{f"{messages}status__in": OUTBOUND_ACTIVE})),
        last_delivered=Max(f"{messages}delivered_at")).order_by("name"))
    attempts = list(
        DeliveryAttempt.objects.filter(started_at__gte=now - timedelta(hours=1)).order_by()
        .values("message__system_id")
        .annotate(total=Count("id"), failed=Count("id", filter=~Q(outcome=AttemptOutcome.DELIVERED))))
    return [rows, attempts]


def measure(label: str, client, erp_id: int) -> None:
    from thread.flows.selectors import system_flow_signals, system_flow_summaries

    def floor() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM flows_externalsystem WHERE id = %s", [erp_id])
            cursor.fetchone()

    def endpoint() -> None:
        response = client.get(STATUS_URL)
        assert response.status_code == 200, response.content

    cases = [("floor: indexed SELECT 1", floor),
             ("flow status: selector", system_flow_summaries),
             ("flow status: endpoint (request stack)", endpoint),
             ("banner / e-mail: alert signals", system_flow_signals),
             ("before: whole-table aggregates", whole_table_aggregates)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FILTER (WHERE status IN ('pending', 'retrying', 'sending')),"
                       " count(*) FROM flows_outboundmessage")
        waiting, total = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM flows_deliveryattempt")
        attempts = cursor.fetchone()[0]
    print(f"\n{label}: {waiting:,} waiting of {total:,} messages, {attempts:,} attempts")
    print(f"  {'case':<40} {'median ms':>10} {'best ms':>9} {'in db ms':>9} {'queries':>8} "
          f"{'x floor':>9}")
    base = None
    for name, action in cases:
        median, best, in_db, queries = timed(action)
        base = base or median
        print(f"  {name:<40} {median:10.2f} {best:9.2f} {in_db:9.2f} {queries:8d} "
              f"{median / base:9.1f}")
    [erp] = [s for s in system_flow_summaries() if s.system.pk == erp_id]
    print(f"  ERP as the flow status sees it: waiting {erp.waiting:,}"
          f"{'+' if erp.waiting_capped else ''}, alerts {', '.join(erp.alerts) or 'none'}, "
          f"{erp.peer.consecutive_failures} failures in a row, last hour "
          f"{erp.failed_attempts_last_hour:,} of {erp.attempts_last_hour:,} failed")


def main() -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.contrib.contenttypes.models import ContentType
    from django.test import Client

    from thread.flows import services

    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        systems = {}
        for name, kind in (("ERP", "erp"), ("MES", "mes"), ("PLM", "plm")):
            system = services.system_create(name=name, kind=kind, actor=None, reason="bench")
            systems[name] = services.system_delivery_configure(
                system=system, actor=None, reason="bench", connector="rest",
                base_url=f"https://{kind}.example.com/", connector_options={"paths": {"*": "{topic}"}})
        about_type = ContentType.objects.get_for_model(Group).pk
        erp, mes = systems["ERP"].pk, systems["MES"].pk
        admin = get_user_model().objects.create_superuser("bench", password="bench")
        client = Client()
        client.force_login(admin)

        load_messages(erp, about_type, first=1, last=1_000)
        load_messages(mes, about_type, first=1, last=500)
        load_attempts(erp, count=200)
        load_attempts(mes, count=1_000, failing=False)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        measure("1,000 waiting, ANALYZE", client, erp)

        load_messages(erp, about_type, first=1_001, last=100_000)
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM flows_deliveryattempt")
        load_attempts(erp, count=20_000)
        load_attempts(mes, count=1_000, failing=False)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        measure("100,000 waiting, ANALYZE", client, erp)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE flows_outboundmessage")
            cursor.execute("VACUUM ANALYZE flows_deliveryattempt")
        measure("100,000 waiting, after VACUUM", client, erp)
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    main()
