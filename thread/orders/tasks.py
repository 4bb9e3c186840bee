"""The orders app's scheduled work: thin, idempotent, one service call each."""

from __future__ import annotations

from typing import Any

from .odoo_poll import odoo_orders_poll, odoo_systems
from .work_orders.batches import shift_batches_send

SHIFT_BATCH_SCHEDULE = "send shift-start batches"
ODOO_POLL_SCHEDULE = "read orders from Odoo ERPs"


def send_shift_batches() -> dict[str, Any]:
    """Every minute: the batches of shift starts that have passed (a batch is claimed once per
    plant and shift, so a repeated or late run sends nothing twice)."""
    batches = shift_batches_send()
    return {"batches": [str(batch) for batch in batches],
            "work_orders": sum(batch.sent for batch in batches)}


def poll_odoo_orders() -> list[dict[str, Any]]:
    """Every few minutes: each Odoo system's manufacturing and purchase orders into the mirrors
    (each kind's mark is written with its batch, so a lost or repeated run changes nothing)."""
    return [{"kind": kind, **vars(report)} for system in odoo_systems()
            for kind, report in zip(("manufacturing_orders", "purchase_orders"),
                                    odoo_orders_poll(system=system), strict=True)]
