"""Operator actions on many messages at once, built on the single-message outbox services."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from thread.history import require_reason

from . import outbox
from .choices import OUTBOUND_WAITING
from .models import ExternalSystem, OutboundMessage


def system_messages_retry_now(*, system: ExternalSystem, actor: AbstractBaseUser | None,
                              reason: str) -> int:
    """Retry now every waiting message of a system — after its peer came back, so nobody waits
    for the backoff. Each message records the action (who, why); one transaction, so the retries
    enqueue one drain task between them, not one each."""
    reason = require_reason(reason)
    with transaction.atomic():
        waiting = list(OutboundMessage.objects.filter(system=system, status__in=OUTBOUND_WAITING)
                       .order_by("id"))
        for message in waiting:
            outbox.outbound_message_retry(message=message, actor=actor, reason=reason)
    return len(waiting)
