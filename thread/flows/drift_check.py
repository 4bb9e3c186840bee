"""The drift check (docs/monitoring.md, "Drift"): read back, from each system whose connector
can, what Thread last delivered to it, and record how the peer differs as drift findings.

A check is a pass (sweep) over every object delivered to the system — the ordering keys of its
delivered messages on the topics the connector reads back, in key order — cut into runs of at
most `drift_check_batch` objects and RUN_SECONDS each. After each object the run saves its
cursor, so a run that fails (the peer down) or dies (a killed worker) is resumed from there by
the next; a new pass starts `drift_check_every_minutes` after the previous one started.

Per object, the newest message that was meant for the peer decides: delivered → it is what the
peer should hold, and is read back; on its way or dead → skipped (the peer is expected to
differ until it is delivered, or an operator deals with it). A peer that cannot be reached ends
the run as failed, with nothing concluded for that object; a peer that refuses one object (a
4xx) is reported on the run and the pass goes on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_q.tasks import async_task

from connectors.base import Outcome
from connectors.registry import connector_names, drift_topics, get_connector
from thread.errors import StateConflict

from . import delivery
from .choices import DriftRunState, DriftTrigger, OutboundStatus
from .drift_findings import drift_findings_reconcile
from .models import DriftCheckRun, ExternalSystem, OutboundMessage
from .peer_ids import peer_ids_record

# One run's time budget: it stops between objects once spent, well within django-q2's task
# timeout (Q_TIMEOUT, 120 s) even with one slow object on top.
RUN_SECONDS = 45.0
# One object's read-back at most (a BOM of a few hundred lines is a few pages of GETs).
OBJECT_SECONDS = 60.0
# A running run with no sign of life for this long died: the next run takes over from its
# cursor (sooner when its worker is found gone on this host).
STALE_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class DriftRunReport:
    system: str
    run_id: int | None
    state: str
    detail: str


class PeerUnreachable(Exception):
    pass


def drift_checked_systems() -> QuerySet[ExternalSystem]:
    """The systems the check reads back: enabled, checked, with a connector that can."""
    names = [name for name in connector_names() if drift_topics(name)]
    return ExternalSystem.objects.filter(enabled=True, drift_check_enabled=True,
                                         connector__in=names).order_by("name")


def last_run(system: ExternalSystem) -> DriftCheckRun | None:
    return DriftCheckRun.objects.filter(system=system).order_by("-started_at", "-id").first()


def drift_check_due(system: ExternalSystem, *, now: datetime) -> bool:
    """Due when no pass ran yet, a pass is unfinished (it continues at every schedule tick),
    or the last pass started `drift_check_every_minutes` ago. A live run is never doubled."""
    run = last_run(system)
    if run is None:
        return True
    if run.state == DriftRunState.RUNNING:
        return _stale(run, now)
    if not run.sweep_done:
        return True
    return run.sweep_started_at + timedelta(minutes=system.drift_check_every_minutes) <= now


def _stale(run: DriftCheckRun, now: datetime) -> bool:
    return run.heartbeat_at < now - STALE_AFTER or delivery.worker_gone(run.worker)


def drift_checks_run(*, trigger: str = DriftTrigger.SCHEDULE) -> list[DriftRunReport]:
    """The schedule's entry: one run for each checked system that is due."""
    now = timezone.now()
    return [drift_check_run(system=system, trigger=trigger)
            for system in drift_checked_systems() if drift_check_due(system, now=now)]


CHECK_ONE_TASK = "thread.flows.tasks.check_drift_of"


def drift_check_request(*, system: ExternalSystem) -> str:
    """An operator's "check now": one run for the system, queued for a worker (a request never
    talks to a peer). Returns the django-q2 task id."""
    if not drift_checked_systems().filter(pk=system.pk).exists():
        raise StateConflict(f"{system.name} has no drift check: it needs a connector that can "
                            "read back (InvenTree), and the system and its drift check switched on.")
    return async_task(CHECK_ONE_TASK, system.pk)


def drift_check_run(*, system: ExternalSystem, trigger: str,
                    budget_seconds: float = RUN_SECONDS) -> DriftRunReport:
    """One run for `system`: claims it (none if another is alive), then reads back objects
    from the cursor on until the batch, the budget or the pass ends, or the peer fails."""
    topics = drift_topics(system.connector)
    if not topics:
        raise StateConflict(f"{system.name}: the {system.connector or 'missing'} connector cannot "
                            "read back what it delivered, so it has no drift check.")
    run = _claim(system, trigger, timezone.now())
    if run is None:
        return DriftRunReport(system.name, None, "skipped", "a run for this system is going on")
    connector = get_connector(system.connector)
    client, peer = delivery.client_for(system), delivery.peer_config(system)
    deadline = time.monotonic() + budget_seconds
    keys = _objects_after(system, topics, run.cursor, system.drift_check_batch)
    try:
        for done, key in enumerate(keys):
            if done and time.monotonic() > deadline:  # at least one object per run
                break
            _check_object(run, connector, client, peer, topics, key)
            run.cursor = key
            run.heartbeat_at = timezone.now()
            run.save(update_fields=_PROGRESS)
        else:
            run.sweep_done = len(keys) < system.drift_check_batch
        run.state = DriftRunState.COMPLETED
    except PeerUnreachable as exc:
        run.state, run.error = DriftRunState.FAILED, str(exc)
    run.finished_at = run.heartbeat_at = timezone.now()
    run.save(update_fields=[*_PROGRESS, "state", "error", "finished_at", "sweep_done"])
    return DriftRunReport(system.name, run.pk, run.state, run_summary(run))


_PROGRESS = ["cursor", "heartbeat_at", "objects_checked", "objects_skipped", "objects_failed",
             "differences", "findings_opened", "findings_closed", "error"]


def run_summary(run: DriftCheckRun) -> str:
    text = (f"{run.objects_checked} checked, {run.objects_skipped} skipped, "
            f"{run.objects_failed} refused; {run.differences} difference(s), "
            f"{run.findings_opened} new finding(s), {run.findings_closed} gone")
    if run.sweep_done:
        text += "; pass complete"
    return text + (f"; {run.error}" if run.error else "")


def _claim(system: ExternalSystem, trigger: str, now: datetime) -> DriftCheckRun | None:
    """Start a run where the last one stopped. The system's row is locked while deciding, and
    the one-running constraint backs that up where locks are no-ops (SQLite)."""
    try:
        with transaction.atomic():
            ExternalSystem.objects.select_for_update().filter(pk=system.pk).first()
            previous = last_run(system)
            if previous is not None and previous.state == DriftRunState.RUNNING:
                if not _stale(previous, now):
                    return None
                previous.state, previous.finished_at = DriftRunState.INTERRUPTED, now
                previous.error = "stopped without finishing (its process died or was stopped)"
                previous.save(update_fields=["state", "finished_at", "error"])
            if previous is None or previous.sweep_done:
                sweep = (previous.sweep + 1) if previous else 1
                sweep_started_at, cursor = now, ""
            else:
                sweep, sweep_started_at = previous.sweep, previous.sweep_started_at
                cursor = previous.cursor
            return DriftCheckRun.objects.create(
                system=system, trigger=trigger, sweep=sweep, sweep_started_at=sweep_started_at,
                started_at=now, heartbeat_at=now, resumed_from=cursor, cursor=cursor,
                worker=delivery.worker_name())
    except IntegrityError:  # another process claimed it between our read and our insert
        return None


def _objects_after(system: ExternalSystem, topics: frozenset[str], cursor: str,
                   limit: int) -> list[str]:
    """The next `limit` objects delivered to the system, in key order (index outbound_key_topic)."""
    return list(OutboundMessage.objects.filter(
        system=system, topic__in=topics, status=OutboundStatus.DELIVERED,
        ordering_key__gt=cursor).order_by("ordering_key")
        .values_list("ordering_key", flat=True).distinct()[:limit])


def _check_object(run: DriftCheckRun, connector, client, peer, topics: frozenset[str],
                  key: str) -> None:
    for topic in sorted(topics):
        newest = (OutboundMessage.objects.filter(system_id=run.system_id, ordering_key=key,
                                                 topic=topic)
                  .exclude(status__in=(OutboundStatus.SUPERSEDED, OutboundStatus.CANCELLED))
                  .order_by("-id").first())
        if newest is None:
            continue
        if newest.status != OutboundStatus.DELIVERED:
            run.objects_skipped += 1
            continue
        result = connector.read_back(client, delivery.envelope(newest, converging=True), peer,
                                     deadline=time.monotonic() + OBJECT_SECONDS)
        outcome = result.classification
        if outcome.outcome == Outcome.RETRY:
            raise PeerUnreachable(f"{key}: {outcome.detail or outcome.error_class}")
        with transaction.atomic():
            peer_ids_record(system_id=run.system_id, ids=result.peer_ids)
            if outcome.outcome == Outcome.DEAD:
                run.objects_failed += 1
                run.error = f"{key}: {outcome.detail or outcome.error_class}"[:2000]
                continue
            found = drift_findings_reconcile(message=newest, differences=result.differences,
                                             run_label=f"Drift check run #{run.pk}")
        run.objects_checked += 1
        run.differences += len(result.differences)
        run.findings_opened += found.opened
        run.findings_closed += found.closed
