"""Change orders in the admin: change managers create and run them, approvers approve their
stages, auditors read the story. Every write goes to thread.changes.services; this module only
turns forms and buttons into calls."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from thread.admin_tools import (
    ActionsOnlyAdmin,
    AuditedAdmin,
    ReadOnlyInline,
    ReasonActionForm,
    action_reason,
)
from thread.catalog.effectivity import EffectivityInput, EffectivityKind
from thread.catalog.models import PartRevision, RevisionEffectivity
from thread.errors import DomainError
from thread.history import audited

from . import flags, selectors, services, workflow
from .impact import change_order_impact
from .models import (
    AffectedItem,
    Approval,
    ApprovalStage,
    ChangeOrder,
    ChangeOrderEvent,
    ChangeOrderType,
    ImpactFlag,
    PlmSettings,
)

MAX_PROBLEM_MESSAGES = 30


def _report(model_admin, request, exc: DomainError) -> None:
    model_admin.message_user(request, exc.detail, messages.ERROR)
    for item in exc.errors[1:MAX_PROBLEM_MESSAGES]:
        model_admin.message_user(request, f"{item.pointer}: {item.detail}", messages.ERROR)


def _effectivity_text(revision: PartRevision | None) -> str:
    effectivity = getattr(revision, "effectivity", None) if revision else None
    return effectivity.describe() if effectivity else "(none)"


class AffectedItemInline(ReadOnlyInline):
    model = AffectedItem
    fields = ["part", "kind", "from_revision", "to_revision", "effectivity", "stock_disposition",
              "wip_disposition", "open_orders_disposition"]
    verbose_name_plural = "affected items (open one to change it while the change order is a draft)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(*selectors.ITEM_RELATED)

    @admin.display(description="effectivity")
    def effectivity(self, item):
        return _effectivity_text(item.to_revision)


class ApprovalInline(ReadOnlyInline):
    model = Approval
    fields = ["review_round", "stage_name", "decision", "approver_name", "source", "at",
              "comment"]
    show_change_link = False
    verbose_name_plural = "approvals and rejections (every review round)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("approver")

    @admin.display(description="by")
    def approver_name(self, approval):
        return approval.approver_name


class EventInline(ReadOnlyInline):
    model = ChangeOrderEvent
    fields = ["at", "kind", "actor", "from_status", "to_status", "reason", "details"]
    show_change_link = False
    verbose_name_plural = "events (who did what, when and why)"

    def get_queryset(self, request):
        # Each row shows the event's str(), which names its change order.
        return super().get_queryset(request).select_related("actor", "change_order")


INFO_FIELDS = ["status", "review_round", "requested_by", "requester_name", "source_system",
               "created_at", "submitted_at", "approved_at", "released_at", "released_by",
               "cancelled_at"]


@admin.register(ChangeOrder)
class ChangeOrderAdmin(AuditedAdmin):
    list_display = ["number", "title", "change_type", "priority", "status", "requester",
                    "source_system", "submitted_at", "released_at"]
    list_filter = ["status", "change_type", "priority", "source_system"]
    search_fields = ["number", "title", "affected_items__part__number"]
    list_select_related = ["change_type", "requested_by", "source_system"]
    inlines = [AffectedItemInline, ApprovalInline, EventInline]
    change_form_template = "changes/changeorder_change_form.html"
    actions = ["submit_selected", "approve_my_stages", "reject_selected", "release_selected",
               "cancel_selected"]

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []  # items follow once the ECO exists

    def get_fields(self, request, obj=None):
        editable = ["number", "title", "change_type", "priority", "description", "change_reason"]
        return editable if obj is None else [*editable, *INFO_FIELDS]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["number", *INFO_FIELDS]

    def has_change_permission(self, request, obj=None):
        if obj is not None and not workflow.may_take(workflow.EDIT, status=obj.status):
            return False  # only a draft's fields change; the workflow buttons stay
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # a change order is cancelled, never deleted: its story stays

    @admin.display(description="requested by")
    def requester(self, obj):
        return obj.requester

    def save_with_reason(self, request, obj, form, change, reason):
        fields = {name: form.cleaned_data[name] for name in services.CHANGE_ORDER_FIELDS}
        if change:
            services.change_order_update(change_order=obj, actor=request.user, reason=reason,
                                         **fields)
        else:
            created = services.change_order_create(number=obj.number, actor=request.user,
                                                   reason=reason, **fields)
            obj.pk = created.pk

    # --- The page: workflow buttons and the diffs ---

    def change_view(self, request, object_id, form_url="", extra_context=None):
        change_order = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if change_order is not None:
            user = request.user
            status = change_order.status
            extra.update({
                "change_order": change_order,
                "may_edit_items": workflow.may_take(workflow.ITEMS, status=status, user=user),
                "open_stages": selectors.stages_open_for(change_order=change_order, user=user),
                "review": selectors.review_state(change_order=change_order),
                "steps": workflow.steps_open(status=status, user=user),
                "diffs": selectors.change_order_diff(change_order=change_order),
            })
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [path("<path:object_id>/workflow/<slug:step>/", view(self.workflow_view),
                     name="changes_changeorder_workflow"),
                *super().get_urls()]

    def workflow_view(self, request, object_id, step):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        change_order = self.get_object(request, object_id)
        if change_order is None:
            raise Http404
        reason = request.POST.get("reason", "")
        try:
            if step == "approve":
                stage = selectors.stage_by_key(change_type=change_order.change_type,
                                               key=request.POST.get("stage", ""))
                if stage is None:
                    raise Http404
                result = services.change_order_approve_stage(
                    change_order=change_order, stage=stage, actor=request.user, comment=reason)
                done = f"Stage {stage.name} approved."
            else:
                result, done = self._step(request, change_order, step, reason)
        except DomainError as exc:
            _report(self, request, exc)
        else:
            self.message_user(request, f"{done} {result.number} is now "
                                       f"{result.get_status_display().lower()}.",
                              messages.SUCCESS)
        return redirect(reverse("admin:changes_changeorder_change", args=[change_order.pk]))

    def _step(self, request, change_order, step, reason):
        services_by_step = {"submit": services.change_order_submit,
                            "reject": services.change_order_reject,
                            "release": services.change_order_release,
                            "cancel": services.change_order_cancel}
        if step not in services_by_step:
            raise Http404
        if not request.user.has_perm(workflow.STEPS[step].permission):
            raise PermissionDenied
        done = ("Rejected: back to draft." if step == "reject"
                else f"{workflow.STEPS[step].done.capitalize()}.")
        return services_by_step[step](change_order=change_order, actor=request.user,
                                      reason=reason), done

    # --- The list's actions (the reason box next to the action menu) ---

    def _each(self, request, queryset, run, done: str) -> None:
        reason = request.POST.get("reason", "")
        for change_order in queryset:
            try:
                run(change_order, reason)
            except DomainError as exc:
                self.message_user(request, f"{change_order.number}: {exc.detail}", messages.ERROR)
            else:
                self.message_user(request, f"{change_order.number}: {done}", messages.SUCCESS)

    @admin.action(description="Submit for review", permissions=["change"])
    def submit_selected(self, request, queryset):
        self._each(request, queryset, lambda eco, reason: services.change_order_submit(
            change_order=eco, actor=request.user, reason=reason), "submitted.")

    @admin.action(description="Approve my open stages")
    def approve_my_stages(self, request, queryset):
        self._each(request, queryset, lambda eco, reason: services.change_order_approve_my_stages(
            change_order=eco, actor=request.user, comment=reason), "your stages approved.")

    @admin.action(description="Reject (back to draft)")
    def reject_selected(self, request, queryset):
        self._each(request, queryset, lambda eco, reason: services.change_order_reject(
            change_order=eco, actor=request.user, reason=reason), "rejected.")

    @admin.action(description="Release", permissions=["release"])
    def release_selected(self, request, queryset):
        self._each(request, queryset, lambda eco, reason: services.change_order_release(
            change_order=eco, actor=request.user, reason=reason), "released.")

    @admin.action(description="Cancel", permissions=["change"])
    def cancel_selected(self, request, queryset):
        self._each(request, queryset, lambda eco, reason: services.change_order_cancel(
            change_order=eco, actor=request.user, reason=reason), "cancelled.")

    def has_release_permission(self, request):
        return request.user.has_perm("changes.release_changeorder")


class AffectedItemForm(forms.ModelForm):
    effectivity_kind = forms.ChoiceField(choices=[("", "(none)"), *EffectivityKind.choices],
                                         required=False, label="Effectivity")
    effective_from = forms.DateField(required=False, help_text="Date effectivity: the first "
                                     "day, in each plant's own time zone.")
    serial_from = forms.CharField(required=False, max_length=64)
    serial_to = forms.CharField(required=False, max_length=64,
                                help_text="Blank: the first serial and every later one.")
    lot = forms.CharField(required=False, max_length=64)

    class Meta:
        model = AffectedItem
        fields = ["change_order", "part", "kind", "from_revision", "to_revision",
                  "stock_disposition", "wip_disposition", "open_orders_disposition", "notes"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        effectivity = RevisionEffectivity.objects.filter(
            revision_id=self.instance.to_revision_id).first() if self.instance.pk else None
        if effectivity is not None:
            self.initial.update(effectivity_kind=effectivity.kind,
                                effective_from=effectivity.effective_from,
                                serial_from=effectivity.serial_from,
                                serial_to=effectivity.serial_to, lot=effectivity.lot)

    def effectivity(self) -> EffectivityInput | None:
        data = self.cleaned_data
        if not data.get("effectivity_kind"):
            return None
        return EffectivityInput(kind=data["effectivity_kind"],
                                effective_from=data.get("effective_from"),
                                serial_from=data.get("serial_from", ""),
                                serial_to=data.get("serial_to", ""), lot=data.get("lot", ""))


@admin.register(AffectedItem)
class AffectedItemAdmin(AuditedAdmin):
    """Affected items are added and changed here while their change order is a draft (the
    change order's page links here); afterwards they are read-only."""

    form = AffectedItemForm
    list_display = ["change_order", "part", "kind", "from_revision", "to_revision",
                    "effectivity"]
    list_filter = ["kind", "change_order__status"]
    search_fields = ["change_order__number", "part__number"]
    list_select_related = ["change_order", *selectors.ITEM_RELATED]
    autocomplete_fields = ["part"]
    raw_id_fields = ["from_revision", "to_revision"]

    @admin.display(description="effectivity")
    def effectivity(self, item):
        return _effectivity_text(item.to_revision)

    def get_fieldsets(self, request, obj=None):
        return [(None, {"fields": ["change_order", "part", "kind", "from_revision",
                                   "to_revision", "stock_disposition", "wip_disposition",
                                   "open_orders_disposition", "notes"]}),
                ("Effectivity of the new revision",
                 {"fields": ["effectivity_kind", "effective_from", "serial_from", "serial_to",
                             "lot"]})]  # the reason: next to the save buttons (AuditedAdmin)

    def get_readonly_fields(self, request, obj=None):
        return ["change_order", "part", "kind", "from_revision", "to_revision"] if obj else []

    def get_changeform_initial_data(self, request):
        return {"change_order": request.GET.get("change_order")}

    def _draft(self, obj) -> bool:
        return obj is None or workflow.may_take(workflow.ITEMS, status=obj.change_order.status)

    def has_change_permission(self, request, obj=None):
        return self._draft(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._draft(obj) and super().has_delete_permission(request, obj)

    def save_with_reason(self, request, obj, form, change, reason):
        fields = {name: form.cleaned_data[name] for name in services.ITEM_FIELDS}
        if change:
            services.affected_item_update(item=obj, actor=request.user, reason=reason,
                                          effectivity=form.effectivity(), **fields)
        else:
            created = services.affected_item_add(
                change_order=obj.change_order, part=obj.part, kind=obj.kind,
                from_revision=obj.from_revision, to_revision=obj.to_revision,
                effectivity=form.effectivity(), actor=request.user, reason=reason, **fields)
            obj.pk = created.pk

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            _report(self, request, exc)
            return redirect(request.get_full_path())

    def delete_model(self, request, obj):
        services.affected_item_remove(item=obj, actor=request.user,
                                      reason=f"Removed in the admin by {request.user}")

    def response_add(self, request, obj, post_url_continue=None):
        return redirect(reverse("admin:changes_changeorder_change", args=[obj.change_order_id]))

    def response_change(self, request, obj):
        return redirect(reverse("admin:changes_changeorder_change", args=[obj.change_order_id]))


class ApprovalStageInline(admin.TabularInline):
    model = ApprovalStage
    fields = ["order", "name", "required", "groups"]
    extra = 0
    filter_horizontal = ["groups"]


@admin.register(ChangeOrderType)
class ChangeOrderTypeAdmin(AuditedAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]
    inlines = [ApprovalStageInline]

    def save_formset(self, request, form, formset, change):
        # Stage edits are configuration an auditor must be able to trace: who and why.
        reason = form.cleaned_data["reason"]
        for stage in formset.save(commit=False):
            stage.full_clean()
            audited(stage, request.user, reason).save()
        for stage in formset.deleted_objects:
            audited(stage, request.user, reason).delete()
        formset.save_m2m()


@admin.register(PlmSettings)
class PlmSettingsAdmin(AuditedAdmin):
    list_display = ["system", "approves_in_plm"]
    list_select_related = ["system"]

    def get_readonly_fields(self, request, obj=None):
        return ["system"] if obj else []

    def save_with_reason(self, request, obj, form, change, reason):
        saved = services.plm_settings_set(system=obj.system, actor=request.user, reason=reason,
                                          approves_in_plm=obj.approves_in_plm)
        obj.pk = saved.pk


# --- Impact: the flags a release raises on open orders, and the impact page ---------------

@admin.register(ImpactFlag)
class ImpactFlagAdmin(ActionsOnlyAdmin):
    list_display = ["id", "change_order_link", "order", "kind", "status", "summary",
                    "raised_at", "acknowledged_by", "resolved_by"]
    list_filter = ["status", "kind"]
    search_fields = ["change_order__number", "purchase_order__number",
                     "production_order__number", "part__number"]
    action_form = ReasonActionForm
    actions = ["acknowledge_selected", "resolve_selected"]
    change_form_template = "changes/impactflag_change_form.html"

    def get_queryset(self, request):
        return selectors.impact_flags_list()

    def has_add_permission(self, request):
        return False  # raised by a change order's release

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="change order")
    def change_order_link(self, flag):
        url = reverse("admin:changes_impact", args=[flag.change_order_id])
        return format_html('<a href="{}">{}</a>', url, flag.change_order.number)

    @admin.action(description="Acknowledge the selected flags (the reason is the note)",
                  permissions=["change"])
    def acknowledge_selected(self, request, queryset):
        self._move(request, queryset, flags.impact_flag_acknowledge, "acknowledged")

    @admin.action(description="Resolve the selected flags (the reason is the note)",
                  permissions=["change"])
    def resolve_selected(self, request, queryset):
        self._move(request, queryset, flags.impact_flag_resolve, "resolved")

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

    def change_view(self, request, object_id, form_url="", extra_context=None):
        may_move = self.has_change_permission(request)
        extra = {"steps": [step for step, allowed in [
            ("acknowledge", may_move), ("resolve", may_move)] if allowed], **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def step_view(self, request, object_id, step):
        """One flag's step from its own page, with the note typed there."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_change_permission(request):
            raise PermissionDenied
        flag = self.get_object(request, object_id)
        if flag is None:
            raise Http404
        service = {"acknowledge": flags.impact_flag_acknowledge,
                   "resolve": flags.impact_flag_resolve}[step]
        try:
            service(flag=flag, actor=request.user, note=request.POST.get("note", ""))
        except DomainError as exc:
            self.message_user(request, exc.detail, messages.ERROR)
        else:
            self.message_user(request, f"Flag #{flag.pk} {step}d.", messages.SUCCESS)
        return redirect(reverse("admin:changes_impactflag_change", args=[flag.pk]))

    def get_urls(self):
        view = self.admin_site.admin_view
        return [path("impact/<int:change_order_id>/", view(self.impact_view),
                     name="changes_impact"),
                *(path(f"<path:object_id>/{step}/", view(self.step_view), {"step": step},
                       name=f"changes_impactflag_{step}") for step in ("acknowledge", "resolve")),
                *super().get_urls()]

    def impact_view(self, request, change_order_id: int):
        if not request.user.has_perm("changes.view_changeorder"):
            raise PermissionDenied
        change_order = get_object_or_404(ChangeOrder, pk=change_order_id)
        return TemplateResponse(request, "changes/impact.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": f"Impact of {change_order.number}", "change_order": change_order,
            "impact": change_order_impact(change_order=change_order),
            "flags": selectors.impact_flags_list().filter(change_order=change_order)})
