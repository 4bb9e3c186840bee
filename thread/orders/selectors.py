"""Reads of the order mirrors and impact flags, each owning its joins."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from .models import ProductionOrder, PurchaseOrder, PurchaseOrderLine


def purchase_orders_list() -> QuerySet[PurchaseOrder]:
    lines = PurchaseOrderLine.objects.select_related("part", "unit").order_by("line_number")
    return (PurchaseOrder.objects.select_related("system", "plant")
            .prefetch_related(Prefetch("lines", queryset=lines)))


def production_orders_list() -> QuerySet[ProductionOrder]:
    return ProductionOrder.objects.select_related("system", "plant", "part", "unit",
                                                  "revision", "mbom_version")
