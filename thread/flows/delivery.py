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
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Iterable
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

from .choices import (
    OUTBOUND_ACTIVE,
    OUTBOUND_WAITING,
    AttemptOutcome,
    OutboundEventKind,
    OutboundStatus,
)
from .models import DeliveryAttempt, ExternalSystem, OutboundMessage, OutboundMessageEvent

logger = logging.getLogger(__name__)

WORKER = f"{socket.gethostname()}:{os.getpid()}"
# Leave this much of a lease unused, so the outcome is recorded before the lease runs out.
LEASE_MARGIN_SECONDS = 1.0


@dataclass
class DrainReport:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    released: int = 0


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
            lease_until=now + timedelta(seconds=settings.THREAD_OUTBOX_LEASE_SECONDS))
    if not claimed:
        return []
    return list(OutboundMessage.objects.filter(lease_token=token, status=OutboundStatus.SENDING)
                .select_related("system").order_by("id"))


_clients: dict[tuple[int, float, float], httpx.Client] = {}


def _client_for(system: ExternalSystem) -> httpx.Client:
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


def envelope(message: OutboundMessage) -> OutboundEnvelope:
    return OutboundEnvelope(message_id=message.pk, topic=message.topic, payload=message.payload,
                            idempotency_key=message.idempotency_key,
                            ordering_key=message.ordering_key,
                            correlation_id=message.correlation_id, created_at=message.created_at)


def _send(message: OutboundMessage) -> DeliveryResult:
    system = message.system
    try:
        connector = get_connector(system.connector)
    except LookupError as exc:
        return DeliveryResult(Classification(Outcome.DEAD, error_class="configuration",
                                             detail=f"{system.name}: {exc}"),
                              "", timezone.now(), 0)
    return connector.deliver(_client_for(system), envelope(message), peer_config(system))


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


def _attempt_row(message: OutboundMessage, result: DeliveryResult, number: int) -> DeliveryAttempt:
    c = result.classification
    return DeliveryAttempt(
        message_id=message.pk, number=number, started_at=result.started_at,
        duration_ms=result.duration_ms, request_summary=result.request_summary[:600],
        response_status=c.status_code, response_excerpt=c.body_excerpt,
        outcome={Outcome.DELIVERED: AttemptOutcome.DELIVERED, Outcome.RETRY: AttemptOutcome.RETRY,
                 Outcome.DEAD: AttemptOutcome.DEAD}[c.outcome],
        error_class=c.error_class, error=c.detail, worker=WORKER)


def _record(verdicts: list[tuple[OutboundMessage, _Verdict]], token: str,
            report: DrainReport) -> None:
    now = timezone.now()
    mine = Q(status=OutboundStatus.SENDING, lease_token=token)
    with transaction.atomic():
        DeliveryAttempt.objects.bulk_create([
            _attempt_row(m, v.result, m.attempts + 1) for m, v in verdicts if v.result is not None])
        delivered = [m.pk for m, v in verdicts if v.status == OutboundStatus.DELIVERED]
        if delivered:
            report.delivered += OutboundMessage.objects.filter(mine, pk__in=delivered).update(
                status=OutboundStatus.DELIVERED, attempts=F("attempts") + 1, delivered_at=now,
                finished_at=now, lease_until=None, lease_token="", last_error="")
        for message, verdict in verdicts:
            if verdict.status == OutboundStatus.DELIVERED:
                continue
            tried = 1 if verdict.result is not None else 0
            changed = OutboundMessage.objects.filter(mine, pk=message.pk).update(
                status=verdict.status, attempts=F("attempts") + tried, lease_until=None,
                lease_token="", last_error=verdict.reason,
                next_attempt_at=verdict.next_attempt_at or message.next_attempt_at,
                finished_at=now if verdict.status == OutboundStatus.DEAD else None)
            if not changed:
                continue  # the lease was lost meanwhile; another worker owns the outcome now
            if verdict.status == OutboundStatus.DEAD:
                report.dead += 1
                OutboundMessageEvent.objects.create(
                    message_id=message.pk, at=now, kind=verdict.event,
                    from_status=OutboundStatus.SENDING, to_status=OutboundStatus.DEAD,
                    reason=verdict.reason)
            else:
                report.retrying += 1


def _release(messages: list[OutboundMessage], token: str) -> int:
    """Hand back claimed messages that were not sent, without counting the lease against them."""
    return OutboundMessage.objects.filter(
        pk__in=[m.pk for m in messages], status=OutboundStatus.SENDING, lease_token=token,
    ).update(status=Case(When(attempts=0, then=Value(OutboundStatus.PENDING)),
                         default=Value(OutboundStatus.RETRYING)),
             lease_until=None, lease_token="", leases=F("leases") - 1)


def _process(batch: list[OutboundMessage], report: DrainReport) -> None:
    token = batch[0].lease_token
    lease_end = time.monotonic() + settings.THREAD_OUTBOX_LEASE_SECONDS - LEASE_MARGIN_SECONDS
    verdicts: list[tuple[OutboundMessage, _Verdict]] = []
    for index, message in enumerate(batch):
        system = message.system
        needs = system.connect_timeout_seconds + system.read_timeout_seconds
        if index and time.monotonic() + needs > lease_end:
            # The rest might not finish inside the lease: give them back for the next claim.
            report.released += _release(batch[index:], token)
            break
        now = timezone.now()
        verdict = _precheck(message, now)
        if verdict is None:
            result = _send(message)
            verdict = _judge(message, result, timezone.now())
        verdicts.append((message, verdict))
    _record(verdicts, token, report)


def drain(*, prefer_ids: Iterable[int] = (), budget_seconds: float | None = None,
          batch_size: int | None = None) -> DrainReport:
    """Deliver what is due until nothing is left or the time budget is spent: first the messages
    whose lease expired (one at a time), then `prefer_ids`, then anything due, oldest first."""
    budget = settings.THREAD_OUTBOX_DRAIN_SECONDS if budget_seconds is None else budget_seconds
    size = batch_size or settings.THREAD_OUTBOX_BATCH_SIZE
    deadline = time.monotonic() + budget
    report = DrainReport()
    hinted = list(prefer_ids)
    while time.monotonic() < deadline and (batch := claim(limit=1, expired=True)):
        report.claimed += len(batch)
        _process(batch, report)
    while time.monotonic() < deadline:
        batch = claim(limit=size, ids=hinted or None)
        if not batch and hinted:
            hinted = []
            continue
        if not batch:
            break
        report.claimed += len(batch)
        _process(batch, report)
    return report
