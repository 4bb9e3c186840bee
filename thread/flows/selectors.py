"""Read queries of the flows app."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Max, Min, Prefetch, Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from .choices import (
    OUTBOUND_ACTIVE,
    OUTBOUND_WAITING,
    AlertKind,
    AttemptOutcome,
    OutboundStatus,
)
from .models import DeliveryAttempt, ExternalSystem, OutboundMessage, OutboundMessageEvent
from .outbox import newer_message_exists


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


MONITOR_STATUS_ORDER = (
    OutboundStatus.PENDING, OutboundStatus.RETRYING, OutboundStatus.SENDING,
    OutboundStatus.DELIVERED, OutboundStatus.DEAD, OutboundStatus.SUPERSEDED,
    OutboundStatus.CANCELLED,
)


@dataclass
class SystemFlowSummary:
    """One system's flows at a glance."""

    system: ExternalSystem
    counts: dict[str, int]
    oldest_waiting_since: datetime | None  # start of the delivery round of the oldest one
    oldest_waiting_age: timedelta | None
    last_delivered_at: datetime | None
    attempts_last_hour: int
    failed_attempts_last_hour: int
    alerts: list[str] = field(default_factory=list)

    @property
    def waiting(self) -> int:
        return sum(self.counts[status] for status in OUTBOUND_ACTIVE)

    @property
    def dead(self) -> int:
        return self.counts[OutboundStatus.DEAD]

    @property
    def count_cells(self) -> list[tuple[str, int]]:
        """(status, count) in the monitor's column order."""
        return [(status, self.counts[status]) for status in MONITOR_STATUS_ORDER]

    @property
    def error_rate_last_hour(self) -> float | None:
        if not self.attempts_last_hour:
            return None
        return self.failed_attempts_last_hour / self.attempts_last_hour


def alert_kinds(*, dead: int, oldest_waiting_age: timedelta | None) -> list[str]:
    """When a system's flows need an operator: it has dead messages, or its oldest undelivered
    message (due, not held by not_before) has waited longer than
    THREAD_ALERT_PENDING_AGE_MINUTES."""
    kinds = []
    if dead:
        kinds.append(AlertKind.DEAD)
    limit = timedelta(minutes=settings.THREAD_ALERT_PENDING_AGE_MINUTES)
    if oldest_waiting_age is not None and oldest_waiting_age > limit:
        kinds.append(AlertKind.STALE)
    return kinds


def due_now(now: datetime, prefix: str = "") -> Q:
    """A message whose not_before has passed: one held back on purpose (an effectivity date) is
    not stuck."""
    return Q(**{f"{prefix}not_before__isnull": True}) | Q(**{f"{prefix}not_before__lte": now})


def system_flow_summaries(*, now: datetime | None = None,
                          system: ExternalSystem | None = None) -> list[SystemFlowSummary]:
    """Per system that Thread sends to (or has messages for): counts by status, the oldest
    undelivered message, the last delivery, and the attempts of the last hour. Two queries,
    whatever the number of messages."""
    now = now or timezone.now()
    messages = "outbound_messages__"
    counts = {f"n_{status}": Count("outbound_messages", filter=Q(**{f"{messages}status": status}))
              for status in OutboundStatus.values}
    systems = ExternalSystem.objects.annotate(
        **counts,
        oldest=Min(f"{messages}enqueued_at",
                   filter=Q(**{f"{messages}status__in": OUTBOUND_ACTIVE}) & due_now(now, messages)),
        last_delivered=Max(f"{messages}delivered_at"),
    ).order_by("name")
    if system is not None:
        systems = systems.filter(pk=system.pk)
    attempts = {
        row["message__system_id"]: row for row in
        DeliveryAttempt.objects.filter(started_at__gte=now - timedelta(hours=1)).order_by()
        .values("message__system_id")
        .annotate(total=Count("id"), failed=Count("id", filter=~Q(outcome=AttemptOutcome.DELIVERED)))
    }
    summaries = []
    for row in systems:
        status_counts = {status: getattr(row, f"n_{status}") for status in OutboundStatus.values}
        if not row.connector and not any(status_counts.values()):
            continue  # a system that only calls Thread has no outbound flow to watch
        tried = attempts.get(row.pk, {})
        age = now - row.oldest if row.oldest else None
        summaries.append(SystemFlowSummary(
            system=row, counts=status_counts, oldest_waiting_since=row.oldest,
            oldest_waiting_age=age, last_delivered_at=row.last_delivered,
            attempts_last_hour=tried.get("total", 0), failed_attempts_last_hour=tried.get("failed", 0),
            alerts=alert_kinds(dead=status_counts[OutboundStatus.DEAD], oldest_waiting_age=age)))
    return summaries


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
