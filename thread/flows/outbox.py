"""The outbox: writing outbound messages and the operator actions on them.

Other apps call `outbound_message_write` inside the transaction of the change that causes the
message; nothing is sent from the request. After commit a drain task is enqueued (one per
transaction, carrying the new ids); the scheduled drain every minute picks up anything a lost
task left behind. Delivery itself lives in `thread.flows.delivery`.

Ordering and superseding are per system and ordering key (the object the message is about):
message N+1 waits until N is delivered or dead, and a new message supersedes the older ones for
the same object and topic that have not been sent yet — only the newest state travels.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Exists, JSONField, Model, OuterRef, Q, Value
from django.utils import timezone

from thread.errors import StateConflict, invalid
from thread.history import require_reason

from .choices import OUTBOUND_WAITING, OutboundEventKind, OutboundStatus
from .models import ExternalSystem, OutboundMessage, OutboundMessageEvent

logger = logging.getLogger(__name__)

DRAIN_TASK = "thread.flows.tasks.drain_outbox"
# The ids a drain task is told about are a hint (it drains those first); more would only make
# the queued task bigger.
MAX_HINTED_IDS = 500
FINAL_STATUSES = (OutboundStatus.DELIVERED, OutboundStatus.SUPERSEDED, OutboundStatus.CANCELLED)


def _content_type_and_id(obj: Model, pointer: str) -> tuple[ContentType, str]:
    if obj.pk is None:
        raise invalid(pointer, "unsaved", f"{pointer[1:]} must be a saved object")
    return ContentType.objects.get_for_model(obj), str(obj.pk)


def _lock_ordering_key(system_id: int, ordering_key: str) -> None:
    """Writers of one object take turns, so message ids follow commit order per ordering key and
    a drainer never sees message N+1 committed while N is still invisible. SQLite writers are
    serialised by the database already."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
                           [f"outbox:{system_id}:{ordering_key}"])


def outbound_message_write(
    *,
    system: ExternalSystem,
    topic: str,
    payload: Any,
    about: Model,
    cause: Model | None,
    ordering_key: str,
    correlation_id: str = "",
    not_before: datetime | None = None,
) -> OutboundMessage:
    """Write one outbound message in the caller's transaction and schedule its delivery after
    commit. Older unsent messages for the same (system, ordering key, topic) become superseded."""
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError(
            "outbound_message_write must run inside the transaction of the change it reports")
    topic, ordering_key = topic.strip(), ordering_key.strip()
    if not topic or len(topic) > 100:
        raise invalid("/topic", "invalid", "topic must be 1 to 100 characters")
    if not ordering_key or len(ordering_key) > 200:
        raise invalid("/ordering_key", "invalid", "ordering_key must be 1 to 200 characters")
    about_type, about_id = _content_type_and_id(about, "/about")
    cause_type, cause_id = _content_type_and_id(cause, "/cause") if cause is not None else (None, "")
    now = timezone.now()
    _lock_ordering_key(system.pk, ordering_key)
    message = OutboundMessage.objects.create(
        system=system, topic=topic, about_type=about_type, about_id=about_id,
        cause_type=cause_type, cause_id=cause_id, payload=payload,
        idempotency_key=f"thread-{uuid.uuid4()}", ordering_key=ordering_key,
        correlation_id=(correlation_id or uuid.uuid4().hex)[:100], status=OutboundStatus.PENDING,
        created_at=now, enqueued_at=now, next_attempt_at=now, not_before=not_before,
    )
    _supersede_older(message, now)
    schedule_drain([message.pk])
    return message


def outbound_message_resend(*, message: OutboundMessage, cause: Model) -> OutboundMessage:
    """A new message carrying what `message` carried, about the same object, caused by `cause`
    (a drift finding's re-push): a new delivery round with its own Idempotency-Key, so a peer
    that deduplicates applies it again. In the caller's transaction."""
    about = message.about
    if about is None:
        raise StateConflict(f"Message #{message.pk} was about {message.about_type} "
                            f"{message.about_id}, which no longer exists.")
    return outbound_message_write(system=message.system, topic=message.topic,
                                  payload=message.payload, about=about, cause=cause,
                                  ordering_key=message.ordering_key)


def _supersede_older(message: OutboundMessage, now: datetime) -> None:
    # Locking re-checks the status after any claim in progress commits: a message a worker has
    # just taken (sending) is no longer waiting and is left alone.
    older = list(
        OutboundMessage.objects.select_for_update()
        .filter(system_id=message.system_id, ordering_key=message.ordering_key,
                topic=message.topic, status__in=OUTBOUND_WAITING, id__lt=message.pk)
        .values_list("id", "status")
    )
    if not older:
        return
    OutboundMessage.objects.filter(pk__in=[pk for pk, _ in older]).update(
        status=OutboundStatus.SUPERSEDED, superseded_by=message, finished_at=now)
    OutboundMessageEvent.objects.bulk_create([
        OutboundMessageEvent(message_id=pk, at=now, kind=OutboundEventKind.SUPERSEDED,
                             from_status=status, to_status=OutboundStatus.SUPERSEDED,
                             reason=f"superseded by message #{message.pk}")
        for pk, status in older
    ])


@dataclass(frozen=True)
class NewOutboundMessage:
    """One message for `outbound_messages_write`: the arguments of `outbound_message_write`."""

    topic: str
    payload: Any
    about: Model
    cause: Model | None
    ordering_key: str
    correlation_id: str = ""
    not_before: datetime | None = None


def outbound_messages_write(*, system: ExternalSystem,
                            messages: Sequence[NewOutboundMessage]) -> list[OutboundMessage]:
    """`outbound_message_write` for many messages to one system, in a constant number of
    queries (a generation can write hundreds): the same checks, ordering-key locks (taken in
    key order), superseding and one drain, with the result the same calls in this order would
    leave — a later message in `messages` supersedes an earlier one for the same key and
    topic."""
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError(
            "outbound_messages_write must run inside the transaction of the change it reports")
    if not messages:
        return []
    now = timezone.now()
    rows = []
    for given in messages:
        topic, ordering_key = given.topic.strip(), given.ordering_key.strip()
        if not topic or len(topic) > 100:
            raise invalid("/topic", "invalid", "topic must be 1 to 100 characters")
        if not ordering_key or len(ordering_key) > 200:
            raise invalid("/ordering_key", "invalid", "ordering_key must be 1 to 200 characters")
        about_type, about_id = _content_type_and_id(given.about, "/about")
        cause_type, cause_id = (_content_type_and_id(given.cause, "/cause")
                                if given.cause is not None else (None, ""))
        rows.append(OutboundMessage(
            system=system, topic=topic, about_type=about_type, about_id=about_id,
            cause_type=cause_type, cause_id=cause_id,
            # An expression keeps Django's PostgreSQL bulk insert off its UNNEST form, which
            # escapes every quote of every payload into an array literal (regex work that took
            # longer than 260 single inserts of mBOM payloads).
            payload=Value(given.payload, output_field=JSONField()),
            idempotency_key=f"thread-{uuid.uuid4()}", ordering_key=ordering_key,
            correlation_id=(given.correlation_id or uuid.uuid4().hex)[:100],
            status=OutboundStatus.PENDING, created_at=now, enqueued_at=now, next_attempt_at=now,
            not_before=given.not_before))
    keys = sorted({row.ordering_key for row in rows})
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(key, 0)) FROM "
                           "(SELECT %s || k AS key FROM unnest(%s::text[]) AS k ORDER BY k) AS keys",
                           [f"outbox:{system.pk}:", keys])
    created = OutboundMessage.objects.bulk_create(rows)
    for message, given in zip(created, messages, strict=True):
        message.payload = given.payload
    _supersede_older_many(system, keys, created, now)
    schedule_drain([message.pk for message in created])
    return created


def _supersede_older_many(system: ExternalSystem, keys: list[str],
                          created: list[OutboundMessage], now: datetime) -> None:
    """`_supersede_older` for each of `created` in turn: waiting messages written before the
    batch go to the first new one of their key and topic, each new one to the next."""
    first: dict[tuple[str, str], OutboundMessage] = {}
    previous: dict[tuple[str, str], OutboundMessage] = {}
    superseded: list[tuple[int, str, OutboundMessage]] = []  # id, status, by
    for message in created:
        group = (message.ordering_key, message.topic)
        if group in first:
            superseded.append((previous[group].pk, OutboundStatus.PENDING, message))
        first.setdefault(group, message)
        previous[group] = message
    older = (OutboundMessage.objects.select_for_update()
             .filter(system_id=system.pk, ordering_key__in=keys, status__in=OUTBOUND_WAITING,
                     id__lt=created[0].pk)
             .values_list("id", "status", "ordering_key", "topic"))
    superseded += [(pk, status, first[(key, topic)]) for pk, status, key, topic in older
                   if (key, topic) in first]
    if not superseded:
        return
    OutboundMessage.objects.bulk_update(
        [OutboundMessage(pk=pk, status=OutboundStatus.SUPERSEDED, superseded_by=message,
                         finished_at=now) for pk, _, message in superseded],
        ["status", "superseded_by", "finished_at"])
    OutboundMessageEvent.objects.bulk_create([
        OutboundMessageEvent(message_id=pk, at=now, kind=OutboundEventKind.SUPERSEDED,
                             from_status=status, to_status=OutboundStatus.SUPERSEDED,
                             reason=f"superseded by message #{message.pk}")
        for pk, status, message in superseded])


class _DrainTrigger:
    """The on-commit callback of one transaction: enqueues one drain task for all the messages
    the transaction wrote."""

    def __init__(self) -> None:
        self.message_ids: list[int] = []

    def __call__(self) -> None:
        from django_q.tasks import async_task

        async_task(DRAIN_TASK, self.message_ids[:MAX_HINTED_IDS])


def schedule_drain(message_ids: Iterable[int]) -> None:
    """Ask for a drain after the current transaction commits (at once outside one). If the
    broker is unreachable the messages are safe in the table and the scheduled drain sends
    them; the failure is logged, never raised into a request that has committed."""
    conn = transaction.get_connection()
    # Django keeps pending callbacks in run_on_commit (and drops those of a rolled-back
    # savepoint); reusing this transaction's trigger gives one task per transaction instead
    # of one per message.
    trigger = next((func for _, func, _ in conn.run_on_commit if isinstance(func, _DrainTrigger)),
                   None) if conn.in_atomic_block else None
    if trigger is None:
        trigger = _DrainTrigger()
        trigger.message_ids.extend(message_ids)
        transaction.on_commit(trigger, robust=True)
    else:
        trigger.message_ids.extend(message_ids)


def _event(message: OutboundMessage, kind: str, from_status: str, actor: AbstractBaseUser | None,
           reason: str, now: datetime) -> None:
    OutboundMessageEvent.objects.create(
        message=message, at=now, kind=kind, from_status=from_status, to_status=message.status,
        actor=actor if actor is not None and actor.is_authenticated else None, reason=reason)


def _locked(message: OutboundMessage) -> OutboundMessage:
    return OutboundMessage.objects.select_for_update().get(pk=message.pk)


def newer_message_exists(message: OutboundMessage) -> bool:
    """Is there a later message for the same object and topic? Then this one carries old data."""
    return OutboundMessage.objects.filter(
        system_id=message.system_id, ordering_key=message.ordering_key, topic=message.topic,
        id__gt=message.pk).exists()


def outbound_message_retry(*, message: OutboundMessage, actor: AbstractBaseUser | None,
                           reason: str) -> OutboundMessage:
    """Retry now: a waiting message skips the rest of its backoff (never its not_before)."""
    reason = require_reason(reason)
    with transaction.atomic():
        message = _locked(message)
        if message.status not in OUTBOUND_WAITING:
            raise StateConflict(f"Only a pending or retrying message can be retried now; this one "
                                f"is {message.status}" + (" (use replay)." if message.status ==
                                                          OutboundStatus.DEAD else "."))
        now = timezone.now()
        message.next_attempt_at = now
        message.save(update_fields=["next_attempt_at"])
        _event(message, OutboundEventKind.RETRIED, message.status, actor, reason, now)
        schedule_drain([message.pk])
    return message


def outbound_message_replay(*, message: OutboundMessage, actor: AbstractBaseUser | None,
                            reason: str, confirm: bool = False) -> OutboundMessage:
    """Send a dead, cancelled or superseded message again, as a new delivery round with the same
    Idempotency-Key (a peer that applied it already absorbs the repeat). A message that newer
    data has overtaken — superseded, or followed by a later message for the same object and
    topic — would push stale data: that needs `confirm`."""
    reason = require_reason(reason)
    with transaction.atomic():
        message = _locked(message)
        replayable = (OutboundStatus.DEAD, OutboundStatus.CANCELLED, OutboundStatus.SUPERSEDED)
        if message.status not in replayable:
            raise StateConflict(f"Only a dead, cancelled or superseded message can be replayed; "
                                f"this one is {message.status}.")
        if not confirm and (message.status == OutboundStatus.SUPERSEDED
                            or newer_message_exists(message)):
            raise StateConflict(
                "Newer data for the same object and topic exists; replaying this message would "
                "send stale data after it. Replay with confirm to do it anyway.")
        now = timezone.now()
        previous = message.status
        message.status = OutboundStatus.PENDING
        message.attempts = 0
        message.leases = 0
        message.enqueued_at = now
        message.next_attempt_at = now
        message.lease_until = None
        message.lease_token = ""
        message.finished_at = None
        message.superseded_by = None
        message.save(update_fields=["status", "attempts", "leases", "enqueued_at",
                                    "next_attempt_at", "lease_until", "lease_token",
                                    "finished_at", "superseded_by"])
        _event(message, OutboundEventKind.REPLAYED, previous, actor, reason, now)
        schedule_drain([message.pk])
    return message


def outbound_message_cancel(*, message: OutboundMessage, actor: AbstractBaseUser | None,
                            reason: str) -> OutboundMessage:
    """Give up on a message that has not been delivered. One in flight cannot be called back."""
    reason = require_reason(reason)
    with transaction.atomic():
        message = _locked(message)
        if message.status not in (*OUTBOUND_WAITING, OutboundStatus.DEAD):
            raise StateConflict(f"Only a pending, retrying or dead message can be cancelled; this "
                                f"one is {message.status}.")
        now = timezone.now()
        previous = message.status
        message.status = OutboundStatus.CANCELLED
        message.finished_at = now
        message.save(update_fields=["status", "finished_at"])
        _event(message, OutboundEventKind.CANCELLED, previous, actor, reason, now)
    return message


def outbound_messages_purge(*, now: datetime | None = None, chunk: int = 2000) -> int:
    """Delete delivered, superseded and cancelled messages (with their attempts and events)
    finished longer ago than THREAD_OUTBOX_RETENTION_DAYS. Dead messages stay until an operator
    handles them, and so does the last delivered message of each object and topic: it is what
    the peer was last told, which the drift check compares and a re-push sends again. Deletes
    in chunks so a large backlog never holds one long transaction."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.THREAD_OUTBOX_RETENTION_DAYS)
    newer_delivered = OutboundMessage.objects.filter(
        system_id=OuterRef("system_id"), ordering_key=OuterRef("ordering_key"),
        topic=OuterRef("topic"), status=OutboundStatus.DELIVERED, id__gt=OuterRef("id"))
    expired = OutboundMessage.objects.filter(status__in=FINAL_STATUSES, finished_at__lt=cutoff)\
        .exclude(Q(status=OutboundStatus.DELIVERED) & ~Exists(newer_delivered))
    deleted = 0
    while ids := list(expired.order_by("id").values_list("id", flat=True)[:chunk]):
        with transaction.atomic():
            deleted += OutboundMessage.objects.filter(pk__in=ids).delete()[1].get(
                OutboundMessage._meta.label, 0)
    return deleted
