"""Read queries of the flows app."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import reduce

from django.contrib.contenttypes.models import ContentType
from django.db.models import (
    Case,
    Expression,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Left
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from connectors.base import RETRYABLE_STATUS

from .choices import OUTBOUND_ACTIVE, OUTBOUND_WAITING, AttemptOutcome, OutboundStatus, PeerVerdict
from .models import (
    STATUS_INDEXED,
    DeliveryAttempt,
    ExternalSystem,
    OutboundMessage,
    OutboundMessageEvent,
    waiting_since,
)
from .outbox import newer_message_exists
from .signals import AlertThresholds, AttemptFact, PeerHealth, alert_kinds, peer_health


def outbound_messages_list(*, system: ExternalSystem | None = None) -> QuerySet[OutboundMessage]:
    """Outbound messages, newest first; a system sees only its own."""
    queryset = OutboundMessage.objects.select_related("system", "about_type", "cause_type")
    if system is not None:
        queryset = queryset.filter(system=system)
    return queryset


def outbound_message_detail(*, system: ExternalSystem | None = None) -> QuerySet[OutboundMessage]:
    return outbound_messages_list(system=system).prefetch_related(
        Prefetch("delivery_attempts", DeliveryAttempt.objects.order_by("id")),
        Prefetch("events", OutboundMessageEvent.objects.select_related("actor").order_by("id")),
    )


# --- Monitoring (docs/monitoring.md) --------------------------------------------------------
#
# Every figure is an index-bounded read per system, so the flow status costs the same with ten
# waiting messages as with a million: counts stop after COUNT_CAP (shown as "10,000+"), the
# failure window looks at its newest WINDOW_SAMPLE attempts, the last hour at its newest
# HOUR_SAMPLE, the peer's signals at its newest RECENT_ATTEMPTS. Two queries for all systems:
# the figures, then the newest attempts of each system.

COUNT_CAP = 10_000
WINDOW_SAMPLE = 1_000
HOUR_SAMPLE = 10_000
RECENT_ATTEMPTS = 50
ERROR_CHARS = 300  # of the peer's last error, as the monitor, the flow status and the e-mail show it

MONITOR_STATUS_ORDER = (
    OutboundStatus.PENDING, OutboundStatus.RETRYING, OutboundStatus.SENDING,
    OutboundStatus.DELIVERED, OutboundStatus.DEAD, OutboundStatus.SUPERSEDED,
    OutboundStatus.CANCELLED,
)

# Thread could not build or send the request: nothing reached the peer.
THREAD_SIDE_ERRORS = ("mapping", "configuration", "connector-error")


class BoundedSum(Subquery):
    """SUM of the column `n` over the rows of a LIMITed correlated queryset: a count (or a count
    of flagged rows) whose cost is bounded by the limit, not by the table. SQL has no COUNT with
    a limit, so the LIMIT sits in a derived table."""

    template = '(SELECT COALESCE(SUM("bounded"."n"), 0) FROM (%(subquery)s) "bounded")'
    output_field = IntegerField()


def _bounded_sum(queryset: QuerySet, flag: Expression, limit: int) -> BoundedSum:
    return BoundedSum(queryset.values(n=flag)[:limit])


def _capped_count(queryset: QuerySet) -> BoundedSum:
    """How many rows, counted up to COUNT_CAP + 1 (more than the cap: "10,000+")."""
    return _bounded_sum(queryset, Value(1), COUNT_CAP + 1)


def _status_count(messages: QuerySet, status: str) -> BoundedSum:
    """A system's messages in one status, counted up to the cap from an index that holds just
    those: the partial index of the status (pending, retrying, sending, dead: rows that change
    often), or outbound_system_status for the final statuses. Through the plain system_id
    index and a filter on status the planner would read every message of the system to count
    a status that few of them have; a final status is ordered by that index's last column so
    that it is the index the planner reads."""
    messages = messages.filter(status=status)
    if status in STATUS_INDEXED:
        return _capped_count(messages.order_by())
    return _capped_count(messages.order_by("delivered_at"))


def _refused() -> Q:
    """An attempt that says nothing about the peer's availability: Thread could not build or
    send it, or the peer answered and refused this message (a 3xx, or a 4xx it would not have
    us retry)."""
    retryable = [f"http-{status}" for status in RETRYABLE_STATUS]
    answered = Q(error_class__startswith="http-3") | Q(error_class__startswith="http-4")
    return Q(error_class__in=THREAD_SIDE_ERRORS) | (answered & ~Q(error_class__in=retryable))


def attempt_verdict() -> Case:
    """What an attempt says about its peer (PeerVerdict), computed in SQL."""
    return Case(When(outcome=AttemptOutcome.DELIVERED, then=Value(PeerVerdict.DELIVERED)),
                When(_refused(), then=Value(PeerVerdict.REFUSED)),
                default=Value(PeerVerdict.FAILED))


def _flag(condition: Q) -> Case:
    return Case(When(condition, then=Value(1)), default=Value(0))


def _figures(*, now: datetime, limits: AlertThresholds, counts: bool) -> dict[str, Expression]:
    """The per-system annotations; without `counts` only what the alerts need."""
    mine = OutboundMessage.objects.filter(system=OuterRef("pk"))
    attempts = DeliveryAttempt.objects.filter(system=OuterRef("pk")).order_by("-started_at")
    window = attempts.filter(started_at__gte=now - limits.failure_window).annotate(
        verdict=attempt_verdict())
    waiting = mine.filter(status__in=OUTBOUND_ACTIVE).annotate(since=waiting_since())
    stuck = mine.filter(status=OutboundStatus.SENDING, lease_until__lt=now - limits.stuck_grace)
    figures = {
        # Ordered subqueries rather than EXISTS: each names the index that answers it, where
        # an EXISTS is planned as a scan of the table that stops at the first match, which for
        # a system without messages is never.
        "any_status": Subquery(mine.order_by("status", "delivered_at").values("status")[:1]),
        "first_waiting": Subquery(waiting.order_by("since").values("since")[:1]),
        "n_dead": _status_count(mine, OutboundStatus.DEAD),
        "oldest": Subquery(waiting.filter(since__lte=now).order_by("since").values("since")[:1]),
        "stuck": _capped_count(stuck.order_by("lease_until")),
        "stuck_since": Subquery(stuck.order_by("lease_until").values("lease_until")[:1]),
        "window_told": _bounded_sum(window, _flag(~Q(verdict=PeerVerdict.REFUSED)), WINDOW_SAMPLE),
        "window_failed": _bounded_sum(window, _flag(Q(verdict=PeerVerdict.FAILED)), WINDOW_SAMPLE),
        # When the system's RECENT_ATTEMPTS-th newest attempt started (none if it has fewer):
        # the second query reads its attempts from there on.
        "recent_from": Subquery(attempts.values("started_at")[RECENT_ATTEMPTS - 1:RECENT_ATTEMPTS]),
    }
    if counts:
        hour = attempts.filter(started_at__gte=now - timedelta(hours=1))
        figures |= {f"n_{status}": _status_count(mine, status)
                    for status in OutboundStatus.values if status != OutboundStatus.DEAD}
        figures |= {
            "last_delivered": Subquery(
                mine.filter(status=OutboundStatus.DELIVERED, delivered_at__isnull=False)
                .order_by("-delivered_at").values("delivered_at")[:1]),
            "hour_attempts": _bounded_sum(hour, Value(1), HOUR_SAMPLE),
            "hour_failed": _bounded_sum(hour, _flag(~Q(outcome=AttemptOutcome.DELIVERED)),
                                        HOUR_SAMPLE),
        }
    return figures


def _newest_attempts(rows: list[ExternalSystem]) -> dict[int, list[AttemptFact]]:
    """The newest RECENT_ATTEMPTS attempts of each system, newest first: one query, each
    system's part a range of the (system, started_at) index."""
    ranges = [Q(system_id=row.pk, started_at__gte=row.recent_from) if row.recent_from
              else Q(system_id=row.pk) for row in rows]
    if not ranges:
        return {}
    found: dict[int, list[AttemptFact]] = {row.pk: [] for row in rows}
    attempts = (DeliveryAttempt.objects.filter(reduce(operator.or_, ranges))
                .annotate(verdict=attempt_verdict(), error_head=Left("error", ERROR_CHARS))
                .order_by("system_id", "-started_at", "-id")
                .values_list("system_id", "started_at", "verdict", "error_class", "error_head",
                             "response_status"))
    for system_id, *fact in attempts:
        if len(found[system_id]) < RECENT_ATTEMPTS:  # ties at the range's start
            found[system_id].append(AttemptFact(*fact))
    return found


@dataclass(kw_only=True)
class SystemFlowSignals:
    """What decides a system's alerts."""

    system: ExternalSystem
    dead: int  # at most COUNT_CAP + 1
    waiting_exists: bool
    oldest_waiting_since: datetime | None  # see models.waiting_since
    oldest_waiting_age: timedelta | None
    stuck_sending: int  # sending, with a lease that ran out more than the grace ago
    stuck_since: datetime | None  # the oldest such lease's end
    peer: PeerHealth
    alerts: list[str] = field(default_factory=list)


@dataclass(kw_only=True)
class SystemFlowSummary(SystemFlowSignals):
    """One system's flows at a glance."""

    counts: dict[str, int]  # each at most COUNT_CAP + 1
    last_delivered_at: datetime | None
    attempts_last_hour: int  # at most HOUR_SAMPLE: the newest of the hour
    failed_attempts_last_hour: int  # among those

    @property
    def counts_capped(self) -> list[str]:
        """The statuses with more than COUNT_CAP messages."""
        return [status for status in MONITOR_STATUS_ORDER if self.counts[status] > COUNT_CAP]

    @property
    def waiting(self) -> int:
        return sum(min(self.counts[status], COUNT_CAP) for status in OUTBOUND_ACTIVE)

    @property
    def waiting_capped(self) -> bool:
        return any(self.counts[status] > COUNT_CAP for status in OUTBOUND_ACTIVE)

    @property
    def count_cells(self) -> list[tuple[str, int]]:
        """(status, count) in the monitor's column order."""
        return [(status, self.counts[status]) for status in MONITOR_STATUS_ORDER]

    @property
    def error_rate_last_hour(self) -> float | None:
        if not self.attempts_last_hour:
            return None
        return self.failed_attempts_last_hour / self.attempts_last_hour


def _flow_rows(*, now: datetime, limits: AlertThresholds, system: ExternalSystem | None,
               counts: bool) -> tuple[list[ExternalSystem], dict[int, list[AttemptFact]]]:
    systems = ExternalSystem.objects.annotate(**_figures(now=now, limits=limits, counts=counts)) \
        .order_by("name")
    if system is not None:
        systems = systems.filter(pk=system.pk)
    # A system that only calls Thread has no outbound flow to watch.
    rows = [row for row in systems if row.connector or row.any_status]
    return rows, _newest_attempts(rows)


def _signals(row: ExternalSystem, recent: list[AttemptFact], now: datetime,
             limits: AlertThresholds) -> dict:
    peer = peer_health(recent=recent, recent_limit=RECENT_ATTEMPTS, window_attempts=row.window_told,
                       window_failed=row.window_failed, limits=limits)
    age = now - row.oldest if row.oldest else None
    waiting_exists = row.first_waiting is not None
    return {"system": row, "dead": row.n_dead, "waiting_exists": waiting_exists,
            "oldest_waiting_since": row.oldest, "oldest_waiting_age": age,
            "stuck_sending": row.stuck, "stuck_since": row.stuck_since, "peer": peer,
            "alerts": alert_kinds(dead=row.n_dead, oldest_waiting_age=age,
                                  delivering=row.delivery_enabled and waiting_exists,
                                  stuck_sending=row.stuck, peer=peer, limits=limits)}


def system_flow_signals(*, now: datetime | None = None) -> list[SystemFlowSignals]:
    """Per system that Thread sends to (or has messages for): what its alerts are made of
    (the admin banner and the alert e-mail). Two queries."""
    now = now or timezone.now()
    limits = AlertThresholds.from_settings()
    rows, recent = _flow_rows(now=now, limits=limits, system=None, counts=False)
    return [SystemFlowSignals(**_signals(row, recent[row.pk], now, limits)) for row in rows]


def system_flow_summaries(*, now: datetime | None = None,
                          system: ExternalSystem | None = None) -> list[SystemFlowSummary]:
    """Per system that Thread sends to (or has messages for): counts by status, the oldest
    waiting message, the last delivery, the last hour's attempts and the peer's signals. Two
    queries, whatever the number of messages and attempts."""
    now = now or timezone.now()
    limits = AlertThresholds.from_settings()
    rows, recent = _flow_rows(now=now, limits=limits, system=system, counts=True)
    return [SystemFlowSummary(
        **_signals(row, recent[row.pk], now, limits),
        counts={status: row.n_dead if status == OutboundStatus.DEAD else getattr(row, f"n_{status}")
                for status in OutboundStatus.values},
        last_delivered_at=row.last_delivered, attempts_last_hour=row.hour_attempts,
        failed_attempts_last_hour=row.hour_failed) for row in rows]


def outbound_messages_monitor(*, system_id: int | None = None, topic: str = "", status: str = "",
                              object_key: str = "", correlation_id: str = "",
                              ) -> QuerySet[OutboundMessage]:
    """The monitoring list, newest first. `object_key` matches the ordering key from its start
    (mbom:BER: finds every BER mBOM); the others are exact."""
    queryset = OutboundMessage.objects.select_related("system").order_by("-id")
    if system_id:
        queryset = queryset.filter(system_id=system_id)
    if topic:
        queryset = queryset.filter(topic=topic)
    if status:
        queryset = queryset.filter(status=status)
    if object_key:
        queryset = queryset.filter(ordering_key__startswith=object_key)
    if correlation_id:
        queryset = queryset.filter(correlation_id=correlation_id)
    return queryset


@dataclass(frozen=True)
class ObjectLink:
    label: str
    url: str | None  # its admin page, where it has one


def object_link(content_type: ContentType | None, object_id: str) -> ObjectLink | None:
    """What a message is about or was caused by, with a link to its admin page (an mBOM version,
    a rule publish…). One query; None when the message has no such object."""
    if content_type is None:
        return None
    name = f"{content_type.app_label}.{content_type.model} #{object_id}"
    model = content_type.model_class()
    instance = model._default_manager.filter(pk=object_id).first() if model else None
    if instance is None:
        return ObjectLink(f"{name} (no longer exists)", None)
    try:
        url = reverse(f"admin:{content_type.app_label}_{content_type.model}_change", args=[object_id])
    except NoReverseMatch:
        url = None
    return ObjectLink(f"{instance} ({name})", url)


def outbound_message_actions(message: OutboundMessage) -> list[str]:
    """The operator actions the message's status allows (the services check again). A dead or
    cancelled message that newer data for its object has overtaken can only be replayed with
    confirmation, as can a superseded one."""
    actions = []
    if message.status in OUTBOUND_WAITING:
        actions.append("retry")
    if message.status in (OutboundStatus.DEAD, OutboundStatus.CANCELLED):
        actions.append("replay_confirmed" if newer_message_exists(message) else "replay")
    if message.status == OutboundStatus.SUPERSEDED:
        actions.append("replay_confirmed")
    if message.status in (*OUTBOUND_WAITING, OutboundStatus.DEAD):
        actions.append("cancel")
    return actions
