"""Reactions of domain apps to deliveries. flows imports no domain app, so an app that must know
when its message reached the peer (the orders app: a work order is `sent` once the MES took it)
registers a hook for its topic at start-up (`AppConfig.ready`). The hook runs inside the
transaction that records the delivery, with the ids of the objects the delivered messages are
about, so the record and its domain state commit together; a hook that fails rolls the outcome
back and the message is delivered again later (the peer deduplicates it by its key)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

# after_delivered(about_ids=["12", …], delivered_at=datetime)
AfterDelivered = Callable[..., Any]

_after_delivered: dict[str, list[AfterDelivered]] = {}


def register_after_delivered(topic: str, hook: AfterDelivered) -> None:
    hooks = _after_delivered.setdefault(topic, [])
    if hook not in hooks:
        hooks.append(hook)


def has_hooks(messages: Iterable[Any]) -> bool:
    return bool(_after_delivered) and any(m.topic in _after_delivered for m in messages)


def run_after_delivered(messages: Iterable[Any], delivered_at: datetime) -> None:
    """Call each topic's hooks once with the delivered messages' `about_id`s (no query when no
    hook is registered for their topics)."""
    by_topic: dict[str, list[str]] = {}
    for message in messages:
        if message.topic in _after_delivered:
            by_topic.setdefault(message.topic, []).append(message.about_id)
    for topic, about_ids in by_topic.items():
        for hook in _after_delivered[topic]:
            hook(about_ids=about_ids, delivered_at=delivered_at)
