"""django-q2 entry points. They only say "drain now" / "purge now": the outbox rows own every
delivery state, so running a task twice, late, or in two clusters at once is harmless."""

from __future__ import annotations

from dataclasses import asdict

from . import alerts, delivery, outbox

# The every-minute drain that recovers what a lost task left behind; /healthz also reads it to
# tell whether a task cluster is alive (thread.flows.health).
DRAIN_SCHEDULE = "drain outbox"


def drain_outbox(message_ids: list[int] | None = None) -> dict[str, int]:
    return asdict(delivery.drain(prefer_ids=message_ids or ()))


def purge_outbox() -> int:
    return outbox.outbound_messages_purge()


def notify_flow_alerts() -> int:
    return alerts.flow_alerts_notify()
