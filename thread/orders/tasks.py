"""The orders app's scheduled work: thin, idempotent, one service call each."""

from __future__ import annotations

from typing import Any

from .work_orders.batches import shift_batches_send

SHIFT_BATCH_SCHEDULE = "send shift-start batches"


def send_shift_batches() -> dict[str, Any]:
    """Every minute: the batches of shift starts that have passed (a batch is claimed once per
    plant and shift, so a repeated or late run sends nothing twice)."""
    batches = shift_batches_send()
    return {"batches": [str(batch) for batch in batches],
            "work_orders": sum(batch.sent for batch in batches)}

