"""The ERP's orders in the admin, read-only here: the ERP changes them. The flags a change order
raises on them, and its impact page, are in the changes admin."""

from __future__ import annotations

from django.contrib import admin

from thread.admin_tools import HistoryAdmin, ReadOnlyAdminMixin, ReadOnlyInline

from . import selectors
from .models import ProductionOrder, PurchaseOrder, PurchaseOrderLine


class _MirrorAdmin(ReadOnlyAdminMixin, HistoryAdmin):
    """The ERP owns these rows: people read them and their history."""


class PurchaseOrderLineInline(ReadOnlyInline):
    model = PurchaseOrderLine
    fields = ["line_number", "part", "quantity", "received_quantity", "unit", "due_date",
              "status"]
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("part", "unit")


@admin.register(PurchaseOrder)
class PurchaseOrderAdmin(_MirrorAdmin):
    list_display = ["number", "system", "supplier", "plant", "status", "erp_status",
                    "order_date", "updated_at"]
    list_filter = ["status", "plant", "system"]
    search_fields = ["number", "supplier", "lines__part__number"]
    list_select_related = ["system", "plant"]
    inlines = [PurchaseOrderLineInline]


@admin.register(ProductionOrder)
class ProductionOrderAdmin(_MirrorAdmin):
    list_display = ["number", "system", "part", "plant", "quantity", "unit", "planned_start",
                    "status", "revision", "mbom_version", "resolution_note"]
    list_filter = ["status", "plant", "system"]
    search_fields = ["number", "part__number"]

    def get_queryset(self, request):
        return selectors.production_orders_list().select_related("revision__part",
                                                                 "mbom_version__mbom")
