"""Read queries of the flows app."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from .models import DeliveryAttempt, ExternalSystem, OutboundMessage, OutboundMessageEvent


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
