"""Thread's own health, for load balancers (`GET /healthz`).

Only what makes this Thread instance unable to do its work counts: the database, the task
broker, and a task cluster that is alive. A peer that is down is a flow problem (see the flow
status endpoint and the monitoring page); reporting it here would take every Thread server out of
rotation because one ERP is away.

"Cluster alive" is read from the every-minute scheduled drain: the cluster's scheduler moves its
`next_run` forward each time it enqueues it, so a `next_run` more than
THREAD_HEALTH_CLUSTER_STALE_MINUTES in the past means no cluster has been scheduling — and
without it nothing recovers the messages a lost task left behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from .tasks import DRAIN_SCHEDULE

# A health check must answer before the load balancer gives up on it.
BROKER_TIMEOUT_SECONDS = 2.0


@dataclass
class HealthReport:
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return all(check["ok"] for check in self.checks.values())


def _database() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"ok": True}


def _broker() -> dict[str, Any]:
    if not settings.REDIS_URL:
        # The ORM broker is the database checked above; its queue table must answer too.
        OrmQ.objects.exists()
        return {"ok": True, "kind": "orm"}
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
                                  socket_timeout=BROKER_TIMEOUT_SECONDS)
    try:
        client.ping()
    finally:
        client.close()
    return {"ok": True, "kind": "redis"}


def _cluster(now: datetime) -> dict[str, Any]:
    schedule = Schedule.objects.filter(name=DRAIN_SCHEDULE).only("next_run").first()
    if schedule is None:
        return {"ok": False, "reason": f"the scheduled task {DRAIN_SCHEDULE!r} does not exist "
                                       "(run manage.py setup_thread)"}
    late = now - schedule.next_run
    limit = timedelta(minutes=settings.THREAD_HEALTH_CLUSTER_STALE_MINUTES)
    if late > limit:
        return {"ok": False, "reason": f"no task cluster has run the scheduled drain for "
                                       f"{int(late.total_seconds() // 60)} min (limit "
                                       f"{settings.THREAD_HEALTH_CLUSTER_STALE_MINUTES} min)",
                "next_run": schedule.next_run.isoformat()}
    return {"ok": True, "next_run": schedule.next_run.isoformat()}


def _failed(what: str, exc: Exception) -> dict[str, Any]:
    # The exception's class only: messages of database and Redis errors can name hosts, users
    # or connection strings, and /healthz answers anyone.
    return {"ok": False, "reason": f"{what} did not answer ({type(exc).__name__})"}


def health_report(*, now: datetime | None = None) -> HealthReport:
    now = now or timezone.now()
    report = HealthReport()
    try:
        report.checks["database"] = _database()
    except Exception as exc:  # any failure is an answer here, never a 500
        report.checks["database"] = _failed("the database", exc)
    try:
        report.checks["broker"] = _broker()
    except Exception as exc:
        report.checks["broker"] = _failed("the task broker", exc)
    if report.checks["database"]["ok"]:
        try:
            report.checks["cluster"] = _cluster(now)
        except Exception as exc:
            report.checks["cluster"] = _failed("the schedule table", exc)
    else:
        report.checks["cluster"] = {"ok": False, "reason": "unknown: the database is unavailable"}
    return report
