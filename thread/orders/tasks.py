"""The orders app's scheduled work: thin, idempotent, one service call each."""

from __future__ import annotations

from typing import Any

from .erp_poll import build_orders_poll, polled_systems
from .work_orders.batches import shift_batches_send

SHIFT_BATCH_SCHEDULE = "send shift-start batches"
BUILD_ORDER_POLL_SCHEDULE = "read build orders from polled ERPs"


def send_shift_batches() -> dict[str, Any]:
    """Every minute: the batches of shift starts that have passed (a batch is claimed once per
    plant and shift, so a repeated or late run sends nothing twice)."""
    batches = shift_batches_send()
    return {"batches": [str(batch) for batch in batches],
            "work_orders": sum(batch.sent for batch in batches)}


def poll_build_orders() -> list[dict[str, Any]]:
    """Every few minutes: each polled ERP's build orders into the production-order mirror (the
    poll mark is written with the batch, so a lost or repeated run changes nothing)."""
    return [vars(build_orders_poll(system=system)) for system in polled_systems()]

