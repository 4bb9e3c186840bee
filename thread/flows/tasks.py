"""django-q2 entry points. They only say "drain now" / "purge now": the outbox rows own every
delivery state, so running a task twice, late, or in two clusters at once is harmless."""

from __future__ import annotations

from dataclasses import asdict

from . import delivery, outbox


def drain_outbox(message_ids: list[int] | None = None) -> dict[str, int]:
    return asdict(delivery.drain(prefer_ids=message_ids or ()))


def purge_outbox() -> int:
    return outbox.outbound_messages_purge()
