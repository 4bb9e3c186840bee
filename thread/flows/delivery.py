"""The drainer: claim due outbound messages, send them through their system's connector, record
the outcome. Run by the django-q2 drain task (thread.flows.tasks); safe to run in any number of
workers and clusters at once.

A claim is a short transaction: pick candidates (`FOR UPDATE SKIP LOCKED` where the database has
it), then a conditional UPDATE that repeats the whole claimable condition on the row itself and
sets a lease. Only that UPDATE decides who owns a row, so the claim is safe on PostgreSQL (where
a row re-checked after a lock wait is judged on its own table's conditions only) and on SQLite
(no row locks at all). No lock is held while the peer is called; the outcome is written by
another conditional UPDATE that still requires our lease, so a worker that lost its lease
records its attempt but changes nothing.

A message whose lease expired is claimed alone: whatever killed the last worker may be in it,
and its batch mates must not die with it again. Claimed N times without an outcome, it is
quarantined (dead). Only the oldest message on its way per (system, ordering key) is ever
claimable, so a batch holds at most one message per object and the order per object holds.

Time: every send has a deadline — the end of the drain's budget or of the batch's lease,
whichever comes first — that bounds the whole HTTP exchange, so a drain task ends within its
budget whatever a peer does (thread/flows/checks.py keeps the budget inside django-q2's timeout).
Each attempt is recorded as soon as it completes, the messages' statuses once per batch: a
killed worker loses at most the request it was making, and the verdicts it recorded are applied
by whoever takes its messages back, without sending them again. docs/outbox.md has the timing table.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Exists, F, OuterRef, Q, Value, When
from django.utils import timezone

from connectors.base import (
    Classification,
    DeliveryResult,
    OutboundEnvelope,
    Outcome,
    PeerConfig,
    make_client,
)
from connectors.registry import get_connector

from . import hooks
from .choices import (
    OUTBOUND_ACTIVE,
    OUTBOUND_WAITING,
    AttemptOutcome,
    OutboundEventKind,
    OutboundStatus,
)
from .models import DeliveryAttempt, ExternalSystem, OutboundMessage, OutboundMessageEvent
from .peer_ids import known_ids, peer_ids_record
from .timing import LEASE_MARGIN_SECONDS, send_window_seconds

logger = logging.getLogger(__name__)

HOST = socket.gethostname()


def worker_name() -> str:
    """host:pid of this process, read when called: django-q2 forks its workers after import."""
    return f"{HOST}:{os.getpid()}"


@dataclass
class DrainReport:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    released: int = 0
    taken_back: int = 0  # leases of workers found dead on this host, taken back at once
    budget_spent: bool = False  # stopped with work left: the caller starts another drain
    # When there is nothing left to do now: the earliest retry, or the earliest lease to run
    # out. The caller schedules the next drain for then.
    next_due_at: datetime | None = None

    def settled(self, status: str) -> None:
        """Count a message whose new status this drain wrote."""
        if status == OutboundStatus.DELIVERED:
            self.delivered += 1
        elif status == OutboundStatus.DEAD:
            self.dead += 1
        else:
            self.retrying += 1


def next_delay(*, attempt: int, base: float, cap: float, retry_after: float | None = None,
               rand: Callable[[float, float], float] = random.uniform) -> float:
    """Seconds until the next try after `attempt` failed tries: exponential up to the cap with
    "equal jitter" (half fixed, half random) so a crowd of retries spreads out; never earlier
    than the peer's Retry-After."""
    delay = min(cap, base * 2 ** max(0, attempt - 1))
    delay = delay / 2 + rand(0, delay / 2)
    return max(delay, retry_after or 0.0)


def _due(now: datetime) -> Q:
    return (Q(status__in=OUTBOUND_WAITING, next_attempt_at__lte=now)
            & (Q(not_before__isnull=True) | Q(not_before__lte=now)))


def _lease_expired(now: datetime) -> Q:
    return Q(status=OutboundStatus.SENDING, lease_until__lt=now)


def _head_of_line() -> Exists:
    return ~Exists(OutboundMessage.objects.filter(
        system_id=OuterRef("system_id"), ordering_key=OuterRef("ordering_key"),
        id__lt=OuterRef("id"), status__in=OUTBOUND_ACTIVE))


def claim(*, limit: int, expired: bool = False, ids: Iterable[int] | None = None,
          now: datetime | None = None) -> list[OutboundMessage]:
    """Lease up to `limit` claimable messages (due ones, or with `expired` those whose lease ran
    out) to this caller and return them with their systems."""
    now = now or timezone.now()
    claimable = _lease_expired(now) if expired else _due(now)
    token = uuid.uuid4().hex
    with transaction.atomic():
        candidates = OutboundMessage.objects.filter(claimable, _head_of_line(),
                                                    system__delivery_enabled=True)
        if ids is not None:
            candidates = candidates.filter(pk__in=list(ids))
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True, of=("self",))
        picked = list(candidates.order_by("id").values_list("id", flat=True)[:limit])
        if not picked:
            return []
        # The deciding statement: no join here, so every condition is checked on the row itself.
        claimed = OutboundMessage.objects.filter(claimable, _head_of_line(), pk__in=picked).update(
            status=OutboundStatus.SENDING, lease_token=token, leases=F("leases") + 1,
            lease_owner=worker_name(),
            lease_until=now + timedelta(seconds=settings.THREAD_OUTBOX_LEASE_SECONDS))
    if not claimed:
        return []
    return list(OutboundMessage.objects.filter(pk__in=picked, lease_token=token,
                                               status=OutboundStatus.SENDING)
                .select_related("system").order_by("id"))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: alive
    return True


def worker_gone(owner: str) -> bool:
    """Whether the process `owner` (host:pid) is known to be dead: only this host's pids can be
    checked, so a worker elsewhere is never judged gone here."""
    host, _, pid = owner.rpartition(":")
    return host == HOST and pid.isdigit() and not _pid_alive(int(pid))


def dead_leases_take_back(*, now: datetime | None = None) -> int:
    """Expire at once the leases held by workers of this host that no longer exist (killed,
    out of memory): their messages are claimable now instead of when the lease runs out. Only
    this host's pids can be checked; a lease of a worker elsewhere runs its course. A reused
    pid merely keeps the lease until it expires."""
    now = now or timezone.now()
    owners = set(OutboundMessage.objects.filter(
        status=OutboundStatus.SENDING, lease_until__gte=now, lease_owner__startswith=f"{HOST}:",
    ).values_list("lease_owner", flat=True))
    dead = [owner for owner in owners if worker_gone(owner)]
    if not dead:
        return 0
    return OutboundMessage.objects.filter(
        status=OutboundStatus.SENDING, lease_until__gte=now, lease_owner__in=dead,
    ).update(lease_until=now - timedelta(microseconds=1))


def next_due_at(*, now: datetime | None = None) -> datetime | None:
    """When the drain next has work, if nothing is due now: the earliest retry, or the earliest
    lease to run out (a worker on another host may have died). Two index reads. A message held
    by not_before (an effectivity date) is left to the every-minute drain."""
    now = now or timezone.now()
    retry = (OutboundMessage.objects
             .filter(status__in=OUTBOUND_WAITING, next_attempt_at__gt=now)
             .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
             .order_by("next_attempt_at").values_list("next_attempt_at", flat=True).first())
    lease = (OutboundMessage.objects.filter(status=OutboundStatus.SENDING, lease_until__gte=now)
             .order_by("lease_until").values_list("lease_until", flat=True).first())
    return min((at for at in (retry, lease) if at is not None), default=None)


_clients: dict[tuple[int, float, float], httpx.Client] = {}


def client_for(system: ExternalSystem) -> httpx.Client:
    # Keyed by pid too: a client must not cross a fork (django-q2 forks its workers).
    key = (os.getpid(), system.connect_timeout_seconds, system.read_timeout_seconds)
    client = _clients.get(key)
    if client is None:
        client = _clients[key] = make_client(connect_timeout=system.connect_timeout_seconds,
                                             read_timeout=system.read_timeout_seconds)
    return client


def peer_config(system: ExternalSystem) -> PeerConfig:
    return PeerConfig(system_name=system.name, base_url=system.base_url,
                      credential_name=system.credential_name,
                      options=dict(system.connector_options or {}),
                      connect_timeout=system.connect_timeout_seconds,
                      read_timeout=system.read_timeout_seconds)


def envelope(message: OutboundMessage, *, converging: bool = False) -> OutboundEnvelope:
    """The message as plain data; for a converging connector with the ids the system assigned
    to Thread's objects so far."""
    return OutboundEnvelope(message_id=message.pk, topic=message.topic, payload=message.payload,
                            idempotency_key=message.idempotency_key,
                            ordering_key=message.ordering_key,
                            correlation_id=message.correlation_id, created_at=message.created_at,
                            known_ids=known_ids(system_id=message.system_id) if converging
                            else {})


def _send(message: OutboundMessage, deadline: float) -> DeliveryResult:
    system = message.system
    try:
        connector = get_connector(system.connector)
    except LookupError as exc:
        return DeliveryResult(Classification(Outcome.DEAD, error_class="configuration",
                                             detail=f"{system.name}: {exc}"),
                              "", timezone.now(), 0)
    return connector.deliver(client_for(system),
                             envelope(message, converging=getattr(connector, "converges", False)),
                             peer_config(system), deadline=deadline)


@dataclass(frozen=True)
class _Verdict:
    """What becomes of a claimed message: its new status and the facts to record."""

    status: str
    result: DeliveryResult | None = None  # None: not sent (quarantined, expired)
    event: str = ""
    reason: str = ""
    next_attempt_at: datetime | None = None


def _precheck(message: OutboundMessage, now: datetime) -> _Verdict | None:
    unfinished = message.leases - message.attempts
    if unfinished > settings.THREAD_OUTBOX_QUARANTINE_AFTER:
        return _Verdict(OutboundStatus.DEAD, event=OutboundEventKind.QUARANTINED,
                        reason=f"claimed {unfinished - 1} times without an outcome: its worker "
                               "died each time (quarantined, not sent again)")
    max_age = timedelta(hours=settings.THREAD_OUTBOX_MAX_AGE_HOURS)
    if now - message.enqueued_at > max_age:
        return _Verdict(OutboundStatus.DEAD, event=OutboundEventKind.EXPIRED,
                        reason=f"not delivered within {settings.THREAD_OUTBOX_MAX_AGE_HOURS} h")
    return None


def _judge(message: OutboundMessage, result: DeliveryResult, now: datetime) -> _Verdict:
    c = result.classification
    if c.outcome == Outcome.DELIVERED:
        return _Verdict(OutboundStatus.DELIVERED, result)
    system = message.system
    attempt = message.attempts + 1
    what = f"{c.error_class}: {c.detail}" if c.detail else c.error_class
    if c.outcome == Outcome.DEAD:
        return _Verdict(OutboundStatus.DEAD, result, OutboundEventKind.DEAD, what)
    if attempt >= system.max_attempts:
        return _Verdict(OutboundStatus.DEAD, result, OutboundEventKind.DEAD,
                        f"gave up after {attempt} attempts; last: {what}")
    delay = next_delay(attempt=attempt, base=system.backoff_base_seconds,
                       cap=system.backoff_cap_seconds, retry_after=c.retry_after)
    next_at = now + timedelta(seconds=delay)
    if next_at - message.enqueued_at > timedelta(hours=settings.THREAD_OUTBOX_MAX_AGE_HOURS):
        return _Verdict(OutboundStatus.DEAD, result, OutboundEventKind.EXPIRED,
                        f"the next try would pass the maximum age; last: {what}")
    return _Verdict(OutboundStatus.RETRYING, result, reason=what, next_attempt_at=next_at)


_ATTEMPT_OUTCOME = {OutboundStatus.DELIVERED: AttemptOutcome.DELIVERED,
                    OutboundStatus.RETRYING: AttemptOutcome.RETRY,
                    OutboundStatus.DEAD: AttemptOutcome.DEAD}


def _attempt_row(message: OutboundMessage, verdict: _Verdict, task_id: str) -> DeliveryAttempt:
    result = verdict.result
    c = result.classification
    return DeliveryAttempt(
        message_id=message.pk, system_id=message.system_id, number=message.attempts_total + 1,
        started_at=result.started_at, duration_ms=result.duration_ms,
        request_summary=result.request_summary[:600], response_status=c.status_code,
        response_excerpt=c.body_excerpt,
        # The verdict, not the peer's answer alone: the try that used up max_attempts is the
        # one that made the message dead.
        outcome=_ATTEMPT_OUTCOME[verdict.status],
        error_class=c.error_class, error=c.detail, worker=worker_name(), task_id=task_id,
        steps=[{"method": step.method, "url": step.url, "status": step.status,
                "excerpt": step.excerpt} for step in result.steps])


def _attempt_write(message: OutboundMessage, verdict: _Verdict, task_id: str) -> None:
    """The attempt row, committed on its own as soon as the try ends (before the next request),
    so a killed worker leaves a trace of every request it completed. One small INSERT: the
    message's own row, with its many indexes, is updated once per batch (_batch_finish). The
    ids a converging connector learnt are recorded with it, whatever the outcome."""
    if verdict.result is None or not verdict.result.peer_ids:
        _attempt_row(message, verdict, task_id).save(force_insert=True)
        return
    with transaction.atomic():
        _attempt_row(message, verdict, task_id).save(force_insert=True)
        peer_ids_record(system_id=message.system_id, ids=verdict.result.peer_ids)


def _batch_finish(verdicts: list[tuple[OutboundMessage, _Verdict]], token: str,
                  report: DrainReport) -> None:
    """Apply the batch's verdicts to the messages, in one transaction: the delivered ones in one
    statement, the others one by one. Only rows still leased to us change; a message whose
    lease was lost meanwhile belongs to another worker, which applies the recorded attempt
    (_recorded_outcome_apply)."""
    if not verdicts:
        return
    now = timezone.now()
    mine = Q(status=OutboundStatus.SENDING, lease_token=token)
    with transaction.atomic():
        delivered = [m for m, v in verdicts if v.status == OutboundStatus.DELIVERED]
        if delivered:
            updated = OutboundMessage.objects.filter(mine, pk__in=[m.pk for m in delivered])
            if hooks.has_hooks(delivered):
                # Only the rows still leased to us are ours to report as delivered.
                ours = set(updated.select_for_update().values_list("pk", flat=True))
                hooks.run_after_delivered([m for m in delivered if m.pk in ours], now)
            report.delivered += updated.update(
                status=OutboundStatus.DELIVERED, attempts=F("attempts") + 1,
                attempts_total=F("attempts_total") + 1, delivered_at=now, finished_at=now,
                lease_until=None, lease_token="", lease_owner="", last_error="")
        for message, verdict in verdicts:
            if verdict.status == OutboundStatus.DELIVERED:
                continue
            tried = 1 if verdict.result is not None else 0
            changed = OutboundMessage.objects.filter(mine, pk=message.pk).update(
                status=verdict.status, attempts=F("attempts") + tried,
                attempts_total=F("attempts_total") + tried, lease_until=None, lease_token="",
                lease_owner="", last_error=verdict.reason,
                next_attempt_at=verdict.next_attempt_at or message.next_attempt_at,
                finished_at=now if verdict.status == OutboundStatus.DEAD else None)
            if not changed:
                continue
            report.settled(verdict.status)
            if verdict.status == OutboundStatus.DEAD:
                OutboundMessageEvent.objects.create(
                    message_id=message.pk, at=now, kind=verdict.event,
                    from_status=OutboundStatus.SENDING, to_status=OutboundStatus.DEAD,
                    reason=verdict.reason)


def _recorded_outcome_apply(message: OutboundMessage, report: DrainReport) -> bool:
    """A message whose worker died after recording its attempt but before finishing the batch:
    the attempt log already holds the verdict, so it is applied instead of sending again.
    Attempts numbered past the message's total are the ones not yet counted on it. Returns
    whether the message is settled (the caller then does not send it)."""
    recorded = list(DeliveryAttempt.objects.filter(message_id=message.pk,
                                                   number__gt=message.attempts_total)
                    .order_by("number").only("number", "outcome", "started_at", "error_class",
                                             "error"))
    if not recorded:
        return False
    last, tried = recorded[-1], len(recorded)
    now = timezone.now()
    what = f"{last.error_class}: {last.error}" if last.error else last.error_class
    status = {AttemptOutcome.DELIVERED: OutboundStatus.DELIVERED,
              AttemptOutcome.DEAD: OutboundStatus.DEAD}.get(last.outcome, OutboundStatus.RETRYING)
    fields = {"status": status, "attempts": F("attempts") + tried,
              "attempts_total": F("attempts_total") + tried,
              # This claim sent nothing: it is not one the message could have killed a worker in.
              "leases": F("leases") - 1, "lease_until": None, "lease_token": "",
              "lease_owner": "", "last_error": "" if status == OutboundStatus.DELIVERED else what}
    if status == OutboundStatus.DELIVERED:
        fields.update(delivered_at=last.started_at, finished_at=now)
    elif status == OutboundStatus.DEAD:
        fields.update(finished_at=now)
    else:
        system = message.system
        fields["next_attempt_at"] = last.started_at + timedelta(seconds=next_delay(
            attempt=message.attempts + tried, base=system.backoff_base_seconds,
            cap=system.backoff_cap_seconds))
    with transaction.atomic():
        changed = OutboundMessage.objects.filter(
            pk=message.pk, status=OutboundStatus.SENDING, lease_token=message.lease_token,
        ).update(**fields)
        if changed and status == OutboundStatus.DELIVERED:
            hooks.run_after_delivered([message], last.started_at)
        if changed and status == OutboundStatus.DEAD:
            OutboundMessageEvent.objects.create(
                message_id=message.pk, at=now, kind=OutboundEventKind.DEAD,
                from_status=OutboundStatus.SENDING, to_status=status,
                reason=f"recorded by a worker that died before it finished its batch; {what}")
    if changed:
        report.settled(status)
    return True


def _release(messages: list[OutboundMessage], token: str) -> int:
    """Hand back claimed messages that were not sent, without counting the lease against them."""
    return OutboundMessage.objects.filter(
        pk__in=[m.pk for m in messages], status=OutboundStatus.SENDING, lease_token=token,
    ).update(status=Case(When(attempts=0, then=Value(OutboundStatus.PENDING)),
                         default=Value(OutboundStatus.RETRYING)),
             lease_until=None, lease_token="", lease_owner="", leases=F("leases") - 1)


def _process(batch: list[OutboundMessage], report: DrainReport, *, drain_deadline: float,
             lease_end: float, task_id: str, opens_drain: bool = False) -> None:
    """Send a claimed batch in order, recording each attempt as it ends. A message is sent only
    if its system's timeouts fit in what is left of the drain's budget and the lease; the rest
    goes back for the next claim. The first message of a batch is sent whenever the drain's
    budget allows: its lease was sized for one whole send (the send window), less only what
    the claim itself took. The first message of a drain (`opens_drain`) is always sent, cut off
    at the deadline if it must: a system whose timeouts fill the window exactly never fits in
    what the claim left, and handing it back would put it first in every drain's batch,
    starving everything behind it."""
    token = batch[0].lease_token
    window = send_window_seconds()
    verdicts: list[tuple[OutboundMessage, _Verdict]] = []
    try:
        for index, message in enumerate(batch):
            system = message.system
            deadline = min(drain_deadline, lease_end)
            needs = min(system.connect_timeout_seconds + system.read_timeout_seconds, window)
            budget_short = (not (opens_drain and index == 0)
                            and time.monotonic() + needs > drain_deadline)
            if budget_short or (index > 0 and time.monotonic() + needs > lease_end):
                report.released += _release(batch[index:], token)
                report.budget_spent = report.budget_spent or budget_short
                return
            now = timezone.now()
            verdict = _precheck(message, now)
            if verdict is None:
                result = _send(message, deadline)
                verdict = _judge(message, result, timezone.now())
                _attempt_write(message, verdict, task_id)
            verdicts.append((message, verdict))
    finally:
        _batch_finish(verdicts, token, report)


def drain(*, prefer_ids: Iterable[int] = (), budget_seconds: float | None = None,
          batch_size: int | None = None, task_id: str = "") -> DrainReport:
    """Deliver what is due until nothing is left or the time budget is spent: first the messages
    whose lease expired (one at a time), then `prefer_ids`, then anything due, oldest first.
    `task_id` names the django-q2 task in the attempt log."""
    budget = settings.THREAD_OUTBOX_DRAIN_SECONDS if budget_seconds is None else budget_seconds
    size = batch_size or settings.THREAD_OUTBOX_BATCH_SIZE
    deadline = time.monotonic() + budget
    with _commits_without_waiting_for_disk():
        report = DrainReport(taken_back=dead_leases_take_back())
        _drain_loop(report, prefer_ids=list(prefer_ids), size=size, deadline=deadline,
                    task_id=task_id)
    if not report.budget_spent:
        report.next_due_at = next_due_at()
    return report


@contextmanager
def _commits_without_waiting_for_disk() -> Iterator[None]:
    """On PostgreSQL the drain's own commits (claims, attempts, outcomes) do not wait for the
    WAL to reach the disk (synchronous_commit off, for this session while it drains). A commit
    acknowledged is in the server's memory and reaches the disk within a second: a killed
    worker loses nothing it committed; only a crash of the database server itself could lose
    that last second of drain bookkeeping — never a message, which its writer commits in the
    ordinary way — and then a message is sent again with its Idempotency-Key. Waiting for the
    disk on every attempt would halve the delivery rate (bench/RESULTS.md, Outbox)."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        if connection.connection is not None and not connection.needs_rollback:
            with connection.cursor() as cursor:
                cursor.execute("RESET synchronous_commit")


def _drain_loop(report: DrainReport, *, prefer_ids: list[int], size: int, deadline: float,
                task_id: str) -> None:
    lease_span = settings.THREAD_OUTBOX_LEASE_SECONDS - LEASE_MARGIN_SECONDS
    hinted = prefer_ids
    expired = True
    opens_drain = True
    while not report.budget_spent:
        if time.monotonic() >= deadline:
            report.budget_spent = True
            break
        lease_end = time.monotonic() + lease_span
        if expired:
            batch = claim(limit=1, expired=True)
            if not batch:
                expired = False
                continue
            if _recorded_outcome_apply(batch[0], report):
                report.claimed += 1
                continue
        else:
            batch = claim(limit=size, ids=hinted or None)
            if not batch and hinted:
                hinted = []
                continue
            if not batch:
                break
        report.claimed += len(batch)
        _process(batch, report, drain_deadline=deadline, lease_end=lease_end, task_id=task_id,
                 opens_drain=opens_drain)
        opens_drain = False
