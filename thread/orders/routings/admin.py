"""Work centers and routings in the admin, for process engineers: a routing's versions, a
draft's operations edited inline, released with a reason and an effective date, and each
version shown against the one it started from (docs/work-orders.md, "Routings")."""

from __future__ import annotations

from datetime import date

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse

from thread.admin_tools import (
    AuditedAdmin,
    ReadOnlyInline,
    ReasonActionForm,
    action_reason,
    report_refusal,
)
from thread.catalog.effectivity import plant_today
from thread.errors import DomainError
from thread.history import audited

from ..models import Routing, RoutingOperation, RoutingVersion, WorkCenter
from . import sending, services
from .diff import routing_diff


class WorkCenterForm(forms.ModelForm):
    class Meta:
        model = WorkCenter
        fields = ["plant", "code", "name", "capacity_unit", "shift_starts", "active"]

    def clean_shift_starts(self):
        value = self.cleaned_data["shift_starts"]
        problems = services.shift_starts_problems("/shift_starts", value)
        if problems:
            raise forms.ValidationError([p.detail for p in problems])
        return value


@admin.register(WorkCenter)
class WorkCenterAdmin(AuditedAdmin):
    form = WorkCenterForm
    list_display = ["code", "name", "plant", "capacity_unit", "shift_starts", "active"]
    list_filter = ["plant", "active"]
    search_fields = ["code", "name"]
    list_select_related = ["plant"]


class RoutingVersionInline(ReadOnlyInline):
    model = RoutingVersion
    fields = ["number", "status", "effective_from", "released_at", "released_by", "reason"]
    ordering = ["-number", "-id"]


@admin.register(Routing)
class RoutingAdmin(AuditedAdmin):
    list_display = ["part", "plant", "description", "created_at"]
    list_filter = ["plant"]
    search_fields = ["part__number", "description"]
    list_select_related = ["part", "plant"]
    autocomplete_fields = ["part"]
    inlines = [RoutingVersionInline]
    actions = ["start_draft"]

    def get_readonly_fields(self, request, obj=None):
        return ["part", "plant"] if obj is not None else []

    @admin.action(description="Start a new draft from the newest released version",
                  permissions=["change"])
    def start_draft(self, request, queryset):
        for routing in queryset:
            try:
                draft = services.routing_draft_start(
                    routing=routing, actor=request.user,
                    reason=request.POST.get("reason") or "New routing draft")
            except DomainError as exc:
                report_refusal(self, request, exc)
                continue
            self.message_user(request, f"Draft started for {routing}: edit its operations.",
                              messages.SUCCESS)
            if len(queryset) == 1:
                return redirect(reverse("admin:orders_routingversion_change", args=[draft.pk]))
        return None


class RoutingOperationInline(admin.TabularInline):
    model = RoutingOperation
    fields = ["sequence", "operation_code", "description", "work_center", "setup_minutes",
              "run_minutes", "queue_minutes", "move_minutes", "milestone", "reports_quantity",
              "instructions", "document_reference"]
    extra = 0

    def _editable(self, obj) -> bool:
        return obj is not None and obj.is_editable

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if self._editable(obj) and not obj.operations.exists() else 0

    def has_add_permission(self, request, obj=None):
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(obj) and super().has_delete_permission(request, obj)

    def get_formset(self, request, obj=None, **kwargs):
        # Only the work centers of the routing's plant can be chosen.
        request.routing_plant_id = obj.routing.plant_id if obj is not None else None
        return super().get_formset(request, obj, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "work_center" and getattr(request, "routing_plant_id", None):
            kwargs["queryset"] = WorkCenter.objects.filter(plant_id=request.routing_plant_id,
                                                           active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("work_center__plant")


@admin.register(RoutingVersion)
class RoutingVersionAdmin(AuditedAdmin):
    list_display = ["routing", "number", "status", "effective_from", "operation_count",
                    "released_at", "released_by"]
    list_filter = ["status", "routing__plant"]
    search_fields = ["routing__part__number", "notes", "reason"]
    inlines = [RoutingOperationInline]
    change_form_template = "orders/routingversion_change_form.html"
    info_fields = ["routing", "status", "number", "effective_from", "based_on", "created_at",
                   "created_by", "released_at", "released_by", "reason"]

    action_form = ReasonActionForm
    actions = ["send_to_erp"]

    def get_queryset(self, request):
        return (super().get_queryset(request)
                .select_related("routing__part", "routing__plant", "released_by")
                .annotate(operation_count=Count("operations")))

    @admin.action(description="Send the selected released versions to their plant's ERP again "
                              "(an ERP that takes routings from Thread: Odoo)",
                  permissions=["release"])
    def send_to_erp(self, request, queryset):
        sent, refused = 0, []
        for version in queryset.select_related("routing__plant__erp_system"):
            try:
                sending.routing_version_send_again(
                    version=version, actor=request.user,
                    reason=action_reason(request, "Sent to the ERP again"))
                sent += 1
            except DomainError as exc:
                refused.append(str(exc))
        if refused:
            self.message_user(request, "Not sent: " + "; ".join(refused), messages.ERROR)
        if sent:
            self.message_user(request, f"{sent} message(s) written to the outbox; the flow "
                                       "monitor shows their delivery.", messages.SUCCESS)

    def has_release_permission(self, request) -> bool:
        return request.user.has_perm("orders.release_routingversion")

    @admin.display(description="operations", ordering="operation_count")
    def operation_count(self, obj):
        return obj.operation_count

    def get_fields(self, request, obj=None):
        return ["notes", *self.info_fields]

    def get_readonly_fields(self, request, obj=None):
        return self.info_fields

    def has_add_permission(self, request):
        return False  # a version starts from its routing ("start a new draft") or an ERP push

    def has_delete_permission(self, request, obj=None):
        return False  # a draft is withdrawn; a released version is history

    def has_change_permission(self, request, obj=None):
        if obj is not None and not obj.is_editable:
            return False
        return super().has_change_permission(request, obj)

    def save_formset(self, request, form, formset, change):
        refusal = services.draft_edit_refusal(form.instance)
        if refusal is not None:
            raise PermissionDenied(refusal.detail)
        reason = form.cleaned_data["reason"]
        instances = formset.save(commit=False)
        for deleted in formset.deleted_objects:
            audited(deleted, request.user, reason).delete()
        for instance in instances:
            audited(instance, request.user, reason).save()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if version is not None:
            against = version.based_on
            if against is not None:
                extra["against"] = against
                extra["diff"] = routing_diff(_comparable(against), _comparable(version))
            extra["version"] = version
            extra["may_release"] = (version.is_editable
                                    and request.user.has_perm("orders.release_routingversion"))
            extra["may_withdraw"] = (version.is_editable
                                     and request.user.has_perm("orders.change_routingversion"))
            extra["today"] = plant_today(version.routing.plant).isoformat()
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [path("<path:object_id>/workflow/<slug:step>/", view(self.workflow_view),
                     name="orders_routingversion_workflow"),
                *super().get_urls()]

    def workflow_view(self, request, object_id, step):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        version = self.get_object(request, object_id)
        if version is None or step not in ("release", "withdraw"):
            raise Http404
        permission = ("orders.release_routingversion" if step == "release"
                      else "orders.change_routingversion")
        if not request.user.has_perm(permission):
            raise PermissionDenied
        reason = request.POST.get("reason", "")
        try:
            if step == "release":
                effective = request.POST.get("effective_from") or None
                result = services.routing_version_release(
                    version=version, actor=request.user, reason=reason,
                    effective_from=date.fromisoformat(effective) if effective else None)
                self.message_user(request, f"Released {result}, effective from "
                                           f"{result.effective_from}.", messages.SUCCESS)
            else:
                result = services.routing_draft_withdraw(version=version, actor=request.user,
                                                         reason=reason)
                self.message_user(request, f"Withdrew {result}.", messages.SUCCESS)
        except ValueError:
            self.message_user(request, "The effective date is YYYY-MM-DD.", messages.ERROR)
        except DomainError as exc:
            report_refusal(self, request, exc)
        return redirect(reverse("admin:orders_routingversion_change", args=[version.pk]))


class _Comparable:
    def __init__(self, op: RoutingOperation) -> None:
        self.__dict__.update({name: getattr(op, name) for name in (
            "sequence", "operation_code", "description", "setup_minutes", "run_minutes",
            "queue_minutes", "move_minutes", "milestone", "reports_quantity", "instructions",
            "document_reference")})
        self.work_center = op.work_center.code


def _comparable(version: RoutingVersion) -> list[_Comparable]:
    return [_Comparable(op) for op in version.operations.select_related("work_center")]
