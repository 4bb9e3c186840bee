"""Manufacturing and purchase orders read from Odoo, as plain data for the orders app's poll
(docs/connectors.md, "Odoo": "Orders in"). Read only: `search_read` on `mrp.production`,
`purchase.order` and `purchase.order.line` by `write_date`, the products' default codes, and the
units named back in Thread's words where the connector option `units` maps them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from .base import PeerConfig
from .converging import Conversation
from .mbom_plan import unit_map
from .odoo import DEFAULT_UNITS, OdooConnector, Rpc, many2one
from .orders import ManufacturingOrder, PurchaseLine, PurchaseOrder

# mrp.production states and what they are in Thread's mirror.
PRODUCTION_STATES = {"draft": "planned", "confirmed": "released", "progress": "in_progress",
                     "to_close": "in_progress", "done": "completed", "cancel": "cancelled"}
# A purchase order is one once confirmed; requests for quotation are not read.
PURCHASE_STATES = ("purchase", "done", "cancel")
ODOO_DATETIME = "%Y-%m-%d %H:%M:%S"
FIRST_POLL_DAYS, OVERLAP_SECONDS = 30, 300


def odoo_datetime(value: Any) -> datetime | None:
    """Odoo's datetimes are UTC strings without a zone."""
    if not value:
        return None
    return datetime.strptime(str(value)[:19], ODOO_DATETIME).replace(tzinfo=UTC)


def quantity_of(value: Any) -> Decimal:
    return Decimal(str(value or 0))


class OdooOrders:
    """What the orders app's poll reads from one Odoo: manufacturing and purchase orders
    written since a moment (Odoo's `write_date`), as plain data."""

    def __init__(self, connector: OdooConnector, client: httpx.Client, peer: PeerConfig, *,
                 deadline: float | None) -> None:
        self.conversation = Conversation(connector, client, peer, deadline=deadline,
                                         known_ids={})
        self.rpc = Rpc(connector, self.conversation, peer)
        self.thread_units = {odoo: thread for thread, odoo in
                             unit_map(DEFAULT_UNITS, peer.options).items()}

    def unit(self, many2one_value: Any) -> str:
        name = many2one_value[1] if isinstance(many2one_value, list | tuple) else ""
        return self.thread_units.get(name, name)

    def codes(self, product_ids: set[int]) -> dict[int, str]:
        if not product_ids:
            return {}
        return {row["id"]: row["default_code"] or "" for row in self.rpc.execute(
            "product.product", "search_read", [["id", "in", sorted(product_ids)]],
            fields=["default_code"], context={"active_test": False})}

    def manufacturing_orders(self, since: str) -> list[ManufacturingOrder]:
        rows = self.rpc.execute(
            "mrp.production", "search_read", [["write_date", ">=", since]],
            fields=["name", "state", "product_id", "product_qty", "product_uom_id",
                    "date_start", "date_finished", "write_date"], order="write_date, id")
        codes = self.codes({many2one(row["product_id"]) for row in rows} - {None})
        return [ManufacturingOrder(
            name=row["name"], part=codes.get(many2one(row["product_id"]), ""),
            quantity=quantity_of(row["product_qty"]), unit=self.unit(row["product_uom_id"]),
            state=row["state"], status=PRODUCTION_STATES.get(row["state"], ""),
            start=odoo_datetime(row["date_start"]), end=odoo_datetime(row["date_finished"]),
            modified=row["write_date"]) for row in rows]

    def purchase_orders(self, since: str) -> list[PurchaseOrder]:
        """Orders written since, and those with a line written since — each with all its
        lines, since a mirror's order takes the lines it is sent."""
        changed = {row["id"] for row in self.rpc.execute(
            "purchase.order", "search_read", [["write_date", ">=", since],
                                              ["state", "in", list(PURCHASE_STATES)]],
            fields=["id"])}
        changed |= {many2one(row["order_id"]) for row in self.rpc.execute(
            "purchase.order.line", "search_read", [["write_date", ">=", since]],
            fields=["order_id"])} - {None}
        if not changed:
            return []
        orders = self.rpc.execute(
            "purchase.order", "search_read", [["id", "in", sorted(changed)],
                                              ["state", "in", list(PURCHASE_STATES)]],
            fields=["name", "state", "partner_id", "date_order", "write_date"],
            order="write_date, id")
        lines = self.rpc.execute(
            "purchase.order.line", "search_read", [["order_id", "in", [o["id"] for o in orders]]],
            fields=["order_id", "product_id", "product_qty", "qty_received", "product_uom",
                    "date_planned", "write_date"], order="id")
        codes = self.codes({many2one(line["product_id"]) for line in lines} - {None})
        by_order: dict[int, list[PurchaseLine]] = {}
        for line in lines:
            planned = odoo_datetime(line["date_planned"])
            by_order.setdefault(many2one(line["order_id"]), []).append(PurchaseLine(
                id=line["id"], part=codes.get(many2one(line["product_id"]), ""),
                quantity=quantity_of(line["product_qty"]),
                received=quantity_of(line["qty_received"]), unit=self.unit(line["product_uom"]),
                due=planned.date() if planned else None))
        orders_out = []
        for order in orders:
            ordered = odoo_datetime(order["date_order"])
            orders_out.append(PurchaseOrder(
                name=order["name"],
                supplier=order["partner_id"][1] if order["partner_id"] else "",
                state=order["state"], cancelled=order["state"] == "cancel", closed=False,
                ordered_on=ordered.date() if ordered else None,
                lines=tuple(by_order.get(order["id"], ())), modified=order["write_date"]))
        return orders_out

    def since(self, mark: str | None, now: datetime) -> str:
        """From a few minutes before the mark (an Odoo transaction that commits after a later
        one carries its own start as its write_date; re-reading is harmless), else the last
        FIRST_POLL_DAYS."""
        if not mark:
            return (now - timedelta(days=FIRST_POLL_DAYS)).strftime(ODOO_DATETIME)
        return (datetime.strptime(mark, ODOO_DATETIME) - timedelta(seconds=OVERLAP_SECONDS)) \
            .strftime(ODOO_DATETIME)
