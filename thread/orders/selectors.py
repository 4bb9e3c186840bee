"""Reads of the order mirrors and impact flags, each owning its joins."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from thread.changes.models import ChangeOrder

from .models import ImpactFlag, ProductionOrder, PurchaseOrder, PurchaseOrderLine


def purchase_orders_list() -> QuerySet[PurchaseOrder]:
    lines = PurchaseOrderLine.objects.select_related("part", "unit").order_by("line_number")
    return (PurchaseOrder.objects.select_related("system", "plant")
            .prefetch_related(Prefetch("lines", queryset=lines)))


def production_orders_list() -> QuerySet[ProductionOrder]:
    return ProductionOrder.objects.select_related("system", "plant", "part", "unit",
                                                  "revision", "mbom_version")


def impact_flags_list() -> QuerySet[ImpactFlag]:
    return ImpactFlag.objects.select_related(
        "change_order", "purchase_order", "production_order", "part", "raised_by",
        "acknowledged_by", "resolved_by")


def change_order_by_key(key: str) -> ChangeOrder | None:
    """A change order by id, else by number."""
    key = key.strip()
    found = ChangeOrder.objects.filter(pk=int(key)).first() if key.isdigit() else None
    return found or ChangeOrder.objects.filter(number=key).first()
