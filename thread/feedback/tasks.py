"""django-q2 entry points of feedback."""

from __future__ import annotations

from typing import Any

from thread.orders.erp_poll import build_orders_poll, polled_systems

from .digests import digests_send
from .erp_progress import build_progress_record

BUILD_ORDER_POLL_SCHEDULE = "read build orders from polled ERPs"


def send_digests() -> int:
    return digests_send()


def poll_build_orders() -> list[dict[str, Any]]:
    """Every few minutes: each polled ERP's build orders into the production-order mirror (the
    orders services) and their progress into the feedback's readings, in one transaction with
    the poll mark, so a lost or repeated run changes nothing."""
    return [vars(build_orders_poll(system=system, progress=build_progress_record))
            for system in polled_systems()]
