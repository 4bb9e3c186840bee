"""Work orders in the admin: what was sent to the MES, exactly, and everything it was built
from; a held work order with its reasons and the audited rebuild (docs/work-orders.md)."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse
from lxml import etree

from connectors.b2mml.errors import B2mmlRejected
from connectors.b2mml.safe import parse_xml
from thread.admin_tools import ActionsOnlyAdmin, ReadOnlyAdminMixin
from thread.errors import DomainError

from ..models import ShiftBatch, WorkOrder
from . import follow, guard, selectors, services

MAX_PROBLEM_MESSAGES = 10
# The decision buttons: the service each runs, and what the page then says.
DECISIONS = {
    "as_resolved": (guard.work_order_send_as_resolved, "Sent as resolved."),
    "re_resolve": (guard.work_order_re_resolve,
                   "Re-resolved against the current revision and mBOM version."),
    "send_change": (follow.work_order_erp_change_send, "The ERP's change was sent to the MES."),
    "keep": (follow.work_order_erp_change_keep, "Kept as the MES has it."),
}


def pretty_document(text: str, media_type: str) -> str:
    """The stored document indented for reading (the stored bytes themselves never change)."""
    if not text:
        return ""
    try:
        if "xml" in media_type:
            return etree.tostring(parse_xml(text.encode()), pretty_print=True,
                                  encoding="unicode")
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (B2mmlRejected, ValueError):
        return text


@admin.register(WorkOrder)
class WorkOrderAdmin(ActionsOnlyAdmin):
    list_display = ["number", "plant", "part", "quantity", "unit", "status", "mes_system",
                    "revision", "routing_version", "built_at", "sent_at"]
    list_filter = ["status", "plant", "format"]
    search_fields = ["number", "part__number"]
    change_form_template = "orders/workorder_change_form.html"
    exclude = ["document", "outbound_messages"]

    def get_queryset(self, request):
        return selectors.work_orders_list()

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if f.name != "document"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        work_order = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if work_order is not None:
            document = WorkOrder.objects.filter(pk=work_order.pk).values_list(
                "document", flat=True).get()
            messages_sent, attempts = selectors.work_order_delivery(work_order)
            extra.update({
                "work_order": work_order,
                "document": pretty_document(document, work_order.media_type),
                "outbound": messages_sent,
                "attempts": attempts,
                "may_rebuild": (work_order.status == "held"
                                and request.user.has_perm("orders.rebuild_workorder")),
                "may_decide": (work_order.awaiting_decision
                               and request.user.has_perm("orders.decide_workorder")),
            })
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [path("<path:object_id>/rebuild/", view(self.rebuild_view),
                     name="orders_workorder_rebuild"),
                path("<path:object_id>/decide/", view(self.decide_view),
                     name="orders_workorder_decide"), *super().get_urls()]

    def decide_view(self, request, object_id):
        """The analyst's decision on a superseded work order or a held ERP change (the buttons
        on the work order page; each decision is a service, audited with the reason)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("orders.decide_workorder"):
            raise PermissionDenied
        work_order = self.get_object(request, object_id)
        decide = DECISIONS.get(request.POST.get("decision", ""))
        if work_order is None or decide is None:
            raise Http404
        service, done = decide
        try:
            service(work_order=work_order, actor=request.user,
                    reason=request.POST.get("reason", ""))
        except DomainError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, done, messages.SUCCESS)
        return redirect(reverse("admin:orders_workorder_change", args=[work_order.pk]))

    def rebuild_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("orders.rebuild_workorder"):
            raise PermissionDenied
        work_order = self.get_object(request, object_id)
        if work_order is None:
            raise Http404
        try:
            result = services.work_order_rebuild(work_order=work_order, actor=request.user,
                                                 reason=request.POST.get("reason", ""))
        except DomainError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            if result.status == "held":
                self.message_user(request, f"Rebuilt: still held — {len(result.hold_reasons)} "
                                           "reason(s) remain.", messages.WARNING)
            else:
                self.message_user(request, f"Rebuilt and sent to {result.mes_system}.",
                                  messages.SUCCESS)
        return redirect(reverse("admin:orders_workorder_change", args=[work_order.pk]))


class ShiftBatchWorkOrderInline(admin.TabularInline):
    model = WorkOrder
    fk_name = "shift_batch"
    fields = ["number", "part", "quantity", "status", "sent_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ShiftBatch)
class ShiftBatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The shift-start batches: one per plant and shift, with the work orders each sent."""

    list_display = ["plant", "shift_key", "starts_at", "ends_at", "sent", "created_at"]
    list_filter = ["plant"]
    list_select_related = ["plant"]
    fields = ["plant", "shift_key", "starts_at", "ends_at", "sent", "created_at"]
    readonly_fields = fields
    inlines = [ShiftBatchWorkOrderInline]
