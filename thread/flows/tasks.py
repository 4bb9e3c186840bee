"""django-q2 entry points. They only say "drain now" / "purge now": the outbox rows own every
delivery state, so running a task twice, late, or in two clusters at once is harmless."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from django_q.models import Schedule
from django_q.tasks import async_task

from . import alerts, delivery, drift_check, outbox
from .choices import DriftTrigger

# The every-minute drain that recovers what a lost task left behind; /healthz also reads it to
# tell whether a task cluster is alive (thread.flows.health).
DRAIN_SCHEDULE = "drain outbox"
DRIFT_SCHEDULE = "check drift"

# The django-q2 task this worker process is running (set by the pre_execute hook below), so
# the attempt log can name it. A worker runs one task at a time.
_running_task_id = ""


def drain_outbox(message_ids: list[int] | None = None) -> dict[str, Any]:
    report = delivery.drain(prefer_ids=message_ids or (), task_id=_running_task_id)
    if report.budget_spent:
        # Work is left and due now: the next drain starts at once, not at the next minute.
        async_task(outbox.DRAIN_TASK)
    elif report.next_due_at is not None:
        drain_schedule_bring_forward(at=report.next_due_at)
    return asdict(report)


def drain_schedule_bring_forward(*, at: datetime) -> int:
    """Run the every-minute drain no later than `at` (a retry falling due, a lease running out)
    instead of waiting out the minute; it keeps its cadence from there. One conditional UPDATE,
    so drains in several workers can only move it earlier."""
    return Schedule.objects.filter(name=DRAIN_SCHEDULE, next_run__gt=at).update(next_run=at)


def purge_outbox() -> int:
    return outbox.outbound_messages_purge()


def notify_flow_alerts() -> int:
    return alerts.flow_alerts_notify()


def check_drift() -> list[dict[str, Any]]:
    """Every 5 minutes: a run for each system whose drift check is due (docs/monitoring.md)."""
    return [asdict(report) for report in drift_check.drift_checks_run()]


def check_drift_of(system_id: int) -> dict[str, Any]:
    """An operator's "check now" on the flow monitor: one run for one system, in a worker."""
    system = drift_check.drift_checked_systems().filter(pk=system_id).first()
    if system is None:
        return {"system": system_id, "state": "skipped", "detail": "not drift-checked"}
    return asdict(drift_check.drift_check_run(system=system, trigger=DriftTrigger.OPERATOR))


def remember_running_task(sender: str, task: dict, **kwargs: Any) -> None:
    """django-q2's pre_execute signal, in the worker: the id of the task about to run."""
    global _running_task_id
    _running_task_id = str(task.get("id", ""))


def take_back_after_spawn(sender: str, proc_name: str, **kwargs: Any) -> None:
    """django-q2's post_spawn signal, in a new or reincarnated worker: a worker that died on
    this host left its leases behind; they are taken back and drained now instead of when the
    lease runs out."""
    if delivery.dead_leases_take_back():
        async_task(outbox.DRAIN_TASK)
