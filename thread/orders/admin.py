"""Orders and impact flags in the admin. The orders are the ERP's (read-only here: the ERP
changes them); flags are acknowledged and resolved through list actions with a note, and the
impact page shows what a change order hits (linked from the change order's page)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from thread.admin_tools import ReadOnlyAdminMixin, ReadOnlyInline, ReasonActionForm, action_reason
from thread.changes.models import ChangeOrder
from thread.errors import DomainError

from . import selectors, services
from .impact import change_order_impact
from .models import ImpactFlag, ProductionOrder, PurchaseOrder, PurchaseOrderLine


class _MirrorAdmin(ReadOnlyAdminMixin, SimpleHistoryAdmin):
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


@admin.register(ImpactFlag)
class ImpactFlagAdmin(SimpleHistoryAdmin):
    list_display = ["id", "change_order_link", "order", "kind", "status", "summary",
                    "raised_at", "acknowledged_by", "resolved_by"]
    list_filter = ["status", "kind"]
    search_fields = ["change_order__number", "purchase_order__number",
                     "production_order__number", "part__number"]
    action_form = ReasonActionForm
    actions = ["acknowledge_selected", "resolve_selected"]
    readonly_fields = ["change_order", "purchase_order", "production_order", "kind", "part",
                       "summary", "details", "status", "raised_at", "raised_by",
                       "acknowledged_at", "acknowledged_by", "acknowledge_note", "resolved_at",
                       "resolved_by", "resolution_note"]

    def get_queryset(self, request):
        return selectors.impact_flags_list()

    def has_add_permission(self, request):
        return False  # raised by a change order's release

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="change order")
    def change_order_link(self, flag):
        url = reverse("admin:orders_impact", args=[flag.change_order_id])
        return format_html('<a href="{}">{}</a>', url, flag.change_order.number)

    @admin.action(description="Acknowledge the selected flags (the reason is the note)",
                  permissions=["change"])
    def acknowledge_selected(self, request, queryset):
        self._move(request, queryset, services.impact_flag_acknowledge, "acknowledged")

    @admin.action(description="Resolve the selected flags (the reason is the note)",
                  permissions=["change"])
    def resolve_selected(self, request, queryset):
        self._move(request, queryset, services.impact_flag_resolve, "resolved")

    def _move(self, request, queryset, service, done: str) -> None:
        note = action_reason(request, "")
        moved = 0
        for flag in queryset.order_by("pk"):
            try:
                service(flag=flag, actor=request.user, note=note)
                moved += 1
            except DomainError as exc:
                self.message_user(request, f"#{flag.pk}: {exc.detail}", messages.ERROR)
        if moved:
            self.message_user(request, f"{moved} flag(s) {done}.", messages.SUCCESS)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [path("impact/<int:change_order_id>/", view(self.impact_view),
                     name="orders_impact"),
                *super().get_urls()]

    def impact_view(self, request, change_order_id: int):
        if not request.user.has_perm("changes.view_changeorder"):
            raise PermissionDenied
        change_order = get_object_or_404(ChangeOrder, pk=change_order_id)
        return TemplateResponse(request, "orders/impact.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": f"Impact of {change_order.number}", "change_order": change_order,
            "impact": change_order_impact(change_order=change_order),
            "flags": selectors.impact_flags_list().filter(change_order=change_order)})
