"""The analyst's workplace. A rule set page shows its versions; a draft version's page edits its
rules (inline) and carries the workflow buttons; published versions are read-only. Every write
goes to a service in `thread.bom.rules.services`; this module only turns forms into calls."""


from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.functional import SimpleLazyObject
from django.utils.html import format_html

from thread.admin_tools import (
    AuditedAdmin,
    HistoryAdmin,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    report_refusal,
)
from thread.bom.choices import OPEN_STATUSES, PUBLISHED_STATUSES, VersionStatus
from thread.bom.mbom import preview as generation
from thread.bom.mbom import selectors as mbom_selectors
from thread.bom.models import MappingRule, MappingRuleSet, MappingRuleSetEvent, MappingRuleSetVersion
from thread.bom.rules import selectors as rules_selectors
from thread.bom.rules import services
from thread.bom.rules.help import ACTION_HELP, CONDITION_FIELDS, CONDITION_HELP, CONDITION_SHAPES, PARAMS_HELP
from thread.errors import DomainError, ErrorItem

IMPACT_PRODUCTS_LIMIT = 100  # products checked before a publish is confirmed


def _version_link(version_id, label) -> str | None:
    if version_id is None:
        return None  # the admin shows its "empty" mark
    url = reverse("admin:bom_mappingrulesetversion_change", args=[version_id])
    return format_html('<a href="{}">{}</a>', url, label)



class VersionInline(ReadOnlyInline):
    model = MappingRuleSetVersion
    fields = ["number", "status", "notes", "published_at", "published_by", "reason"]
    verbose_name_plural = "versions"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("published_by", "rule_set__plant")


@admin.register(MappingRuleSet)
class MappingRuleSetAdmin(AuditedAdmin):
    list_display = ["plant", "name", "current_version", "open_version", "requires_approval"]
    list_filter = ["requires_approval"]
    search_fields = ["name", "plant__code"]
    inlines = [VersionInline]
    change_form_template = "bom/ruleset_change_form.html"

    def get_queryset(self, request):
        return rules_selectors.rule_sets_list()

    def get_readonly_fields(self, request, obj=None):
        return ["plant"] if obj else []

    @admin.display(description="current version", ordering="current_number")
    def current_version(self, obj):
        return _version_link(obj.current_version_id, f"v{obj.current_number}")

    @admin.display(description="open version")
    def open_version(self, obj):
        if obj.open_version_id is None:
            return None
        return _version_link(obj.open_version_id, VersionStatus(obj.open_status).label)

    def save_with_reason(self, request, obj, form, change, reason):
        fields = {f: form.cleaned_data[f] for f in services.RULE_SET_FIELDS}
        if change:
            services.rule_set_update(rule_set=obj, actor=request.user, reason=reason, **fields)
        else:
            created = services.rule_set_create(plant=obj.plant, actor=request.user,
                                               reason=reason, **fields)
            obj.pk = created.pk

    def get_urls(self):
        view = self.admin_site.admin_view
        return [path("<path:object_id>/new-draft/", view(self.new_draft_view),
                     name="bom_mappingruleset_new_draft"),
                *super().get_urls()]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        rule_set = self.get_object(request, object_id)
        extra = {"may_start_draft": rule_set is not None and rule_set.open_version_id is None
                 and request.user.has_perm("bom.change_mappingrulesetversion"),
                 **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def new_draft_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not request.user.has_perm("bom.change_mappingrulesetversion"):
            raise PermissionDenied
        rule_set = self.get_object(request, object_id)
        if rule_set is None:
            raise Http404
        try:
            draft = services.rule_set_draft_start(rule_set=rule_set, actor=request.user,
                                                  reason=request.POST.get("reason", ""))
        except DomainError as exc:
            report_refusal(self, request, exc)
            return redirect(reverse("admin:bom_mappingruleset_change", args=[rule_set.pk]))
        self.message_user(request, "New draft started from the current version.",
                          messages.SUCCESS)
        return redirect(reverse("admin:bom_mappingrulesetversion_change", args=[draft.pk]))


class JsonTextarea(forms.Textarea):
    """Compact JSON boxes: the rules table fits a 1,366 px screen; a box grows as it is typed
    in (the page's style sets their width)."""

    def __init__(self, rows: int = 3):
        super().__init__(attrs={"rows": rows, "cols": 30, "class": "json-box"})


class ActionSelect(forms.Select):
    """The action menu, each action explained where it is chosen (its tooltip: what it does and
    its params); the full table is under "How to write a rule"."""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        help = ACTION_HELP.get(str(value))
        if help is not None:
            option["attrs"]["title"] = f"{help.does} Params: {help.params}"
        return option


class RuleForm(forms.ModelForm):
    class Meta:
        model = MappingRule
        fields = ["order", "name", "action", "condition", "params", "enabled"]
        widgets = {"condition": JsonTextarea(), "params": JsonTextarea(2), "action": ActionSelect(),
                   "name": forms.TextInput(attrs={"size": 18})}
        help_texts = {"condition": CONDITION_HELP, "params": PARAMS_HELP}

    def clean_params(self):
        # An empty box means "no parameters" (exclude, flatten, consolidate), not JSON null.
        params = self.cleaned_data.get("params")
        return {} if params in (None, "") else params


class _LoadedRow(forms.ModelChoiceField):
    """A formset row's id, checked against the rows the formset loaded: Django's own field
    asks the database once per row."""

    def __init__(self, rows: dict, **kwargs):
        super().__init__(**kwargs)
        self.rows = rows

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return self.rows[int(value)]
        except (KeyError, TypeError, ValueError):
            raise forms.ValidationError(self.error_messages["invalid_choice"],
                                        code="invalid_choice") from None


class RuleFormSet(BaseInlineFormSet):
    """Checks every added or changed rule with the engine, at the draft's plant, reading the
    catalog once for the whole page; each fault goes next to its field."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        name = self._pk_field.name
        given = form.fields[name]
        rows = {row.pk: row for row in self.get_queryset()}
        form.fields[name] = _LoadedRow(rows, queryset=given.queryset, initial=given.initial,
                                       required=False, widget=given.widget)

    def clean(self):
        super().clean()
        checked = [form for form in self.forms
                   if form.has_changed() and not self._should_delete_form(form)
                   and not form.errors and form.cleaned_data]
        inputs = [services.RuleInput(**{f: form.cleaned_data[f] for f in services.RULE_FIELDS})
                  for form in checked]
        found = services.rule_errors(plant=self.instance.rule_set.plant, rules=inputs)
        for form, errors in zip(checked, found, strict=True):
            for error in errors:
                field, _, inner = error.pointer.lstrip("/").partition("/")
                form.add_error(field if field in form.fields else None,
                               f"{error.message} (at {inner})" if inner else error.message)


class MappingRuleInline(admin.TabularInline):
    model = MappingRule
    form = RuleForm
    formset = RuleFormSet
    extra = 1
    ordering = ["order", "id"]

    def _editable(self, request, obj) -> bool:
        return (obj is not None and obj.is_editable
                and request.user.has_perm("bom.change_mappingrulesetversion"))

    def has_add_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(request, obj)

    def get_extra(self, request, obj=None, **kwargs):
        return 1 if self._editable(request, obj) else 0


class EventInline(ReadOnlyInline):
    model = MappingRuleSetEvent
    fields = ["at", "kind", "actor", "reason", "details"]
    show_change_link = False
    verbose_name_plural = "events (who did what, when and why)"

    def get_queryset(self, request):
        # Each row shows str(event), which names its version's plant.
        return super().get_queryset(request).select_related("actor", "version__rule_set__plant")


class DraftVersionForm(forms.ModelForm):
    class Meta:
        model = MappingRuleSetVersion
        fields = ["notes", "lock_version"]
        widgets = {"lock_version": forms.HiddenInput,
                   "notes": forms.Textarea(attrs={"rows": 2, "cols": 80})}

    def clean(self):
        cleaned = super().clean()
        # The admin's change view runs in one transaction: the row lock taken here holds until
        # the save, so nobody can save in between the check and the write.
        current = (MappingRuleSetVersion.objects.select_for_update(of=("self",))
                   .select_related("rule_set__plant", "updated_by").get(pk=self.instance.pk))
        refusal = services.draft_edit_refusal(version=current,
                                              lock_version=cleaned.get("lock_version"))
        if refusal is not None:
            raise forms.ValidationError(refusal.detail)
        return cleaned


WORKFLOW_STEPS = {
    # step: (service, permission, success message)
    "publish": (services.rule_set_version_publish, "bom.publish_mappingrulesetversion",
                "Published as version {number}."),
    "request-approval": (services.rule_set_version_request_approval,
                         "bom.publish_mappingrulesetversion",
                         "Approval requested: a second person with the right to approve can "
                         "now approve or reject it."),
    "approve": (services.rule_set_version_approve, "bom.approve_mappingrulesetversion",
                "Approved and published as version {number}."),
    "reject": (services.rule_set_version_reject, "bom.approve_mappingrulesetversion",
               "Rejected: the version is a draft again."),
    "rollback": (services.rule_set_version_rollback, "bom.publish_mappingrulesetversion",
                 "Rolled back: {label} holds the rules of the older version."),
    "withdraw": (services.rule_set_draft_withdraw, "bom.change_mappingrulesetversion",
                 "Draft withdrawn."),
}


@admin.register(MappingRuleSetVersion)
class MappingRuleSetVersionAdmin(AuditedAdmin):
    list_display = ["rule_set", "number", "status", "rule_count", "notes", "published_at",
                    "published_by", "approved_by"]
    list_filter = ["status", "rule_set__plant"]
    search_fields = ["rule_set__name", "rule_set__plant__code", "notes", "reason"]
    form = DraftVersionForm
    inlines = [MappingRuleInline, EventInline]
    change_form_template = "bom/version_change_form.html"
    info_fields = ["rule_set", "status", "number", "based_on", "created_at", "created_by",
                   "updated_at", "updated_by", "requested_at", "requested_by", "approved_at",
                   "approved_by", "published_at", "published_by", "reason"]

    def get_queryset(self, request):
        return mbom_selectors.rule_set_versions_list().annotate(rule_count=Count("rules"))

    @admin.display(description="rules", ordering="rule_count")
    def rule_count(self, obj):
        return obj.rule_count

    def get_fields(self, request, obj=None):
        if obj is not None and self.has_change_permission(request, obj):
            return ["notes", "lock_version", *self.info_fields]
        return ["notes", *self.info_fields]

    def get_readonly_fields(self, request, obj=None):
        return self.info_fields

    def has_add_permission(self, request):
        return False  # versions come from a rule set: created with it, "new draft", roll back

    def has_delete_permission(self, request, obj=None):
        return False  # published versions are history; a draft is withdrawn, not deleted

    def has_change_permission(self, request, obj=None):
        if obj is not None and not obj.is_editable:
            return False  # pending, published, superseded, withdrawn: read-only
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        """The draft and its rules are saved together by one service call in save_related."""

    def save_related(self, request, form, formsets, change):
        rules = next(f for f in formsets if f.model is MappingRule)
        add, changed, delete = [], {}, []
        for rule_form in rules.forms:
            pk = rule_form.instance.pk
            if pk and rules._should_delete_form(rule_form):
                delete.append(pk)
            elif rule_form.has_changed() and not rules._should_delete_form(rule_form):
                given = services.RuleInput(**{f: rule_form.cleaned_data[f]
                                              for f in services.RULE_FIELDS})
                if pk:
                    changed[pk] = given
                else:
                    add.append(given)
        services.rule_set_draft_edit(
            version=form.instance, lock_version=form.cleaned_data["lock_version"],
            actor=request.user, reason=form.cleaned_data["reason"],
            notes=form.cleaned_data["notes"], add=add, change=changed, delete=delete)
        request.rule_changes = (len(add), len(changed), len(delete))

    def construct_change_message(self, request, form, formsets, add=False):
        added, changed, deleted = getattr(request, "rule_changes", (0, 0, 0))
        return f"Draft saved: {added} rule(s) added, {changed} changed, {deleted} deleted."

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self.get_object(request, object_id)
        if version is None:
            return super().change_view(request, object_id, form_url, extra_context)
        user = request.user
        may_publish = user.has_perm("bom.publish_mappingrulesetversion")
        status = version.status
        extra = {
            "version": version,
            "steps": [step for step, allowed in [
                ("publish", status == VersionStatus.DRAFT and may_publish
                 and not version.rule_set.requires_approval),
                ("request-approval", status == VersionStatus.DRAFT and may_publish),
                ("approve", status == VersionStatus.PENDING_APPROVAL
                 and user.has_perm("bom.approve_mappingrulesetversion")),
                ("reject", status == VersionStatus.PENDING_APPROVAL
                 and user.has_perm("bom.approve_mappingrulesetversion")),
                ("rollback", status == VersionStatus.SUPERSEDED and may_publish),
                ("withdraw", status == VersionStatus.DRAFT
                 and user.has_perm("bom.change_mappingrulesetversion")),
            ] if allowed],
            "may_validate": status in (*OPEN_STATUSES, VersionStatus.SUPERSEDED),
            "may_start_draft": status == VersionStatus.PUBLISHED
            and user.has_perm("bom.change_mappingrulesetversion"),
            "jobs": (mbom_selectors.regeneration_jobs_list().filter(rule_set_version=version)[:5]
                     if status in PUBLISHED_STATUSES else ()),
            # computed only when the page is drawn (not for a save that redirects)
            "comparison": SimpleLazyObject(lambda: self._comparison(
                version, rules_selectors.version_to_compare(version=version))),
            "action_help": ACTION_HELP.values(), "condition_fields": CONDITION_FIELDS,
            "condition_shapes": CONDITION_SHAPES,
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra_context=extra)

    @staticmethod
    def _comparison(version, against) -> dict:
        if against is None:
            return {"against": None, "diff": None}
        return {"against": against,
                "diff": rules_selectors.version_diff(version=version, against=against)}

    def compare_view(self, request, object_id):
        """Any two versions of a plant's rules: ?against=<version id> (default: as on the
        version's page)."""
        version = self._version_or_404(request, object_id)
        others = mbom_selectors.rule_set_versions_list().filter(rule_set_id=version.rule_set_id)
        chosen = request.GET.get("against", "")
        against = (others.filter(pk=int(chosen)).first() if chosen.isdigit()
                   else rules_selectors.version_to_compare(version=version))
        return TemplateResponse(request, "bom/version_compare.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": f"{version} compared", "version": version,
            "versions": others.exclude(pk=version.pk).order_by("-number"),
            **self._comparison(version, against)})

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/compare/", view(self.compare_view),
                 name="bom_mappingrulesetversion_compare"),
            path("<path:object_id>/validate/", view(self.validate_view),
                 name="bom_mappingrulesetversion_validate"),
            path("<path:object_id>/workflow/<slug:step>/", view(self.workflow_view),
                 name="bom_mappingrulesetversion_workflow"),
            *super().get_urls(),
        ]

    def _version_or_404(self, request, object_id) -> MappingRuleSetVersion:
        version = self.get_object(request, object_id)
        if version is None:
            raise Http404
        return version

    def _back(self, version):
        return redirect(reverse("admin:bom_mappingrulesetversion_change", args=[version.pk]))

    def validate_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        version = self._version_or_404(request, object_id)
        problems = services.rule_set_version_check(version=version)
        if not problems:
            enabled = version.rules.filter(enabled=True).count()
            self.message_user(request, f"No problems: all {enabled} enabled rule(s) can run at "
                                       f"{version.rule_set.plant.code}.", messages.SUCCESS)
        else:
            report_refusal(self, request, DomainError(
                detail=f"{len(problems)} problem(s): this version cannot be published as it is.",
                errors=[ErrorItem(p.pointer, "rule_cannot_run", str(p))
                        for p in problems]))
        return self._back(version)

    def workflow_view(self, request, object_id, step):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if step not in WORKFLOW_STEPS:
            raise Http404
        service, permission, success = WORKFLOW_STEPS[step]
        if not request.user.has_perm(permission):
            raise PermissionDenied
        version = self._version_or_404(request, object_id)
        if step in PUBLISHING_STEPS and not request.POST.get("confirmed"):
            warning = self._publish_warning(request, version, step)
            if warning is not None:
                return warning
        try:
            result = service(version=version, actor=request.user,
                             reason=request.POST.get("reason", ""))
        except DomainError as exc:
            report_refusal(self, request, exc)
            return self._back(version)
        self.message_user(request, success.format(number=result.number, label=str(result)),
                          messages.SUCCESS)
        return self._back(result)


    def _publish_warning(self, request, version, step):
        """The confirmation page, if publishing these rules would leave eBOM lines unaccounted
        for, quantities differing or rules unable to act (mapping warnings) in any released
        product of the plant; None otherwise.
        A version that cannot run is left to the service, which refuses it with the reasons."""
        try:
            reports = generation.products_impact(version=version, limit=IMPACT_PRODUCTS_LIMIT)
        except DomainError:
            return None
        failing = [report for report in reports if not report.ok or report.warnings]
        if not failing:
            return None
        return TemplateResponse(request, "bom/publish_confirm.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": f"Publish {version}?", "version": version, "step": step,
            "reports": failing, "checked": len(reports), "limit": IMPACT_PRODUCTS_LIMIT,
            "reason": request.POST.get("reason", "")})


# The steps that make a version published: each is checked against the plant's products first.
PUBLISHING_STEPS = ("publish", "approve", "rollback")


@admin.register(MappingRule)
class MappingRuleAdmin(ReadOnlyAdminMixin, HistoryAdmin):
    """Rules are edited on their version's page; this list finds them across versions and
    shows each rule's history (who changed what, when and why)."""

    list_display = ["name", "version", "order", "action", "enabled"]
    list_filter = ["action", "enabled", "version__status", "version__rule_set__plant"]
    search_fields = ["name"]
    list_select_related = ["version__rule_set__plant"]
    readonly_fields = ["version", "order", "name", "action", "condition", "params", "enabled"]
    fields = readonly_fields
