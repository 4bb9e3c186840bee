"""The orders app's scheduled work: thin, idempotent, one service call each."""

from __future__ import annotations

from typing import Any

from .erp_orders_poll import erp_orders_poll, polled_erp_systems
from .work_orders.batches import shift_batches_send

SHIFT_BATCH_SCHEDULE = "send shift-start batches"
ERP_ORDERS_POLL_SCHEDULE = "read orders from polled ERPs"


def send_shift_batches() -> dict[str, Any]:
    """Every minute: the batches of shift starts that have passed (a batch is claimed once per
    plant and shift, so a repeated or late run sends nothing twice)."""
    batches = shift_batches_send()
    return {"batches": [str(batch) for batch in batches],
            "work_orders": sum(batch.sent for batch in batches)}


def poll_erp_orders() -> list[dict[str, Any]]:
    """Every few minutes: each polled ERP's manufacturing and purchase orders into the mirrors
    (Odoo, ERPNext; each kind's mark is written with its batch, so a lost or repeated run
    changes nothing)."""
    return [{"kind": kind, **vars(report)} for system in polled_erp_systems()
            for kind, report in zip(("manufacturing_orders", "purchase_orders"),
                                    erp_orders_poll(system=system), strict=True)]
