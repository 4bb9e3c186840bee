"""The ERP's orders in the admin, read-only here: the ERP changes them (a person may release a
production order to the shop floor, with a reason). The flags a change order raises on them,
and its impact page, are in the changes admin. Routings and work orders have their rooms."""

from __future__ import annotations

from django.contrib import admin, messages

from thread.admin_tools import HistoryAdmin, ReadOnlyAdminMixin, ReadOnlyInline, ReasonActionForm
from thread.errors import DomainError

from . import selectors, services
from .models import ErpPollMark, ProductionOrder, PurchaseOrder, PurchaseOrderLine
from .routings import admin as routings_admin  # noqa: F401  (registers its models)
from .work_orders import admin as work_orders_admin  # noqa: F401


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
    action_form = ReasonActionForm
    actions = ["release_to_shop_floor"]

    def get_queryset(self, request):
        return selectors.production_orders_list().select_related("revision__part",
                                                                 "mbom_version__mbom")

    @admin.action(description="Release to the shop floor (build and send the work order)",
                  permissions=["release"])
    def release_to_shop_floor(self, request, queryset):
        reason = (request.POST.get("reason") or "").strip()
        if not reason:
            self.message_user(request, "Give a reason: it is recorded with your name.",
                              messages.ERROR)
            return
        for order in queryset:
            try:
                services.production_order_release(order=order, actor=request.user,
                                                  reason=reason)
            except DomainError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                continue
            work_order = order.work_orders.order_by("-pk").first()
            self.message_user(
                request, f"{order}: work order {work_order.get_status_display().lower()}"
                if work_order else f"{order}: released.",
                messages.WARNING if work_order and work_order.status == "held"
                else messages.SUCCESS)

    def has_release_permission(self, request) -> bool:
        return request.user.has_perm("orders.rebuild_workorder")


@admin.register(ErpPollMark)
class ErpPollMarkAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """How far each polled ERP's build orders were read, and the last poll's error."""

    list_display = ["system", "kind", "mark", "polled_at", "last_count", "last_error"]
    list_select_related = ["system"]
    fields = ["system", "kind", "mark", "polled_at", "last_count", "last_error"]
    readonly_fields = fields

