"""django-q2 entry points of feedback."""

from __future__ import annotations

from .digests import digests_send


def send_digests() -> int:
    return digests_send()
