"""Orders an ERP holds, as plain data for the orders app's poll of ERPs Thread reads (Odoo,
ERPNext: docs/connectors.md). A connector that can be polled answers `orders_reader(client,
peer, deadline=…)` with an `OrdersReader`; the poll keeps one mark per kind, opaque to it: the
peer's own "modified" position of the last record read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class ManufacturingOrder:
    """The ERP's order to make a part at the plant: Thread's production order."""

    name: str  # the ERP's reference: Thread's order number
    part: str  # Thread's part number ("" when the ERP's item has none)
    quantity: Decimal
    unit: str  # Thread's unit code where mapped, else the ERP's unit name
    state: str  # the ERP's own word
    status: str  # Thread's word for it ("" when there is none: not read)
    start: datetime | None
    end: datetime | None
    modified: str  # the ERP's position of this record (its mark)


@dataclass(frozen=True)
class PurchaseLine:
    id: int  # stable per line: Thread's line number
    part: str
    quantity: Decimal
    received: Decimal
    unit: str
    due: date | None


@dataclass(frozen=True)
class PurchaseOrder:
    """A confirmed purchase order with all its lines."""

    name: str
    supplier: str
    state: str
    cancelled: bool
    closed: bool  # the ERP closed it, whatever was received
    ordered_on: date | None
    lines: tuple[PurchaseLine, ...]
    modified: str


class OrdersReader(Protocol):
    def since(self, mark: str | None, now: datetime) -> str:
        """Where a poll starts: before the mark by an overlap, or a first poll's window."""

    def manufacturing_orders(self, since: str) -> list[ManufacturingOrder]: ...

    def purchase_orders(self, since: str) -> list[PurchaseOrder]: ...
