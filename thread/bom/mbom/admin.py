"""mBOMs and their versions are immutable and read-only here. The pages an analyst and an auditor
work with: a version with its lines, each expandable to its lineage; the preview of a rule-set
version (a draft too) next to the current mBOMs; the diff of two versions; the accountability
check; the regeneration jobs' progress; what each release did to the mBOMs; and "generate
now", the one write here (it starts jobs through `thread.bom.mbom.services`). Every computation is a call into
`thread.bom.mbom`; this module only shapes its results for the templates."""


from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from thread.admin_tools import ReadOnlyAdminMixin, ReadOnlyInline, ReasonActionForm, action_reason
from thread.bom.choices import VersionStatus
from thread.bom.ebom import selectors as ebom_selectors
from thread.bom.mbom import preview as generation
from thread.bom.mbom import selectors as mbom_selectors
from thread.bom.mbom import services as mbom_services
from thread.bom.mbom.diff import DiffEntry, LineData
from thread.bom.mbom.resend import mbom_versions_send
from thread.bom.models import MBom, MBomVersion, RegenerationJob, ReleaseGeneration
from thread.catalog.models import Part, Plant
from thread.errors import DomainError


def _line_rows(entries, lookup: mbom_selectors.LineageLookup) -> list[dict]:
    """Diff entries (or plain lines, as unchanged entries) as template rows, with the lineage
    resolved: each path's eBOM lines and the rules, in order."""
    rows = []
    for entry in entries:
        line = entry.line
        rows.append({"kind": entry.kind, "line": line, "old": entry.old,
                     "changed": {c.field: c for c in entry.changes},
                     "sources": lookup.sources(line.lineage), "rules": lookup.rules_of(line.lineage)})
    return rows


def _unchanged(lines: list[LineData]):
    return [DiffEntry("unchanged", line, line) for line in lines]


class _ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


class MBomVersionInline(ReadOnlyInline):
    model = MBomVersion
    fields = ["number", "is_current", "rule_set_version", "as_of", "line_count", "created_at",
              "created_by", "reason"]
    verbose_name_plural = "versions"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(
            "rule_set_version__rule_set__plant", "created_by", "mbom")


class GenerateForm(forms.Form):
    part = forms.CharField(max_length=64, help_text="Part number of the product.")
    revision = forms.CharField(max_length=16, required=False,
                               help_text="Revision label; blank: the newest release.")
    plants = forms.ModelMultipleChoiceField(
        queryset=Plant.objects.order_by("code"), required=False,
        widget=forms.CheckboxSelectMultiple, help_text="None ticked: the plants that make it.")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
                             help_text="Why generate now? Recorded with your name.")

    def clean(self):
        data = super().clean()
        label = data.get("revision")
        part, revision = mbom_selectors.revision_to_generate(part_number=data.get("part", ""),
                                                             label=label)
        if part is None:
            self.add_error("part", "Unknown part.")
            return data
        if revision is None:
            self.add_error("revision", "No such revision." if label else "Nothing released.")
        data["part_revision"] = revision
        return data


class PreviewForm(forms.Form):
    plant = forms.ModelChoiceField(queryset=Plant.objects.order_by("code"))
    rule_set_version = forms.ModelChoiceField(
        queryset=mbom_selectors.rule_set_versions_list().exclude(status=VersionStatus.WITHDRAWN),
        label="Rule-set version", required=False,
        help_text="Drafts included. Blank: the plant's rules in force.")
    part = forms.CharField(max_length=64, required=False,
                           help_text="Part number of a product or assembly. Blank: every "
                                     "released product of the plant, summed up.")
    revision = forms.CharField(max_length=16, required=False,
                               help_text="Blank: the revision in effect (a draft if none is "
                                         "released).")
    as_of = forms.DateField(required=False, help_text="Blank: today at the plant.")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        if data.get("rule_set_version") is None:
            data["rule_set_version"] = mbom_selectors.current_rule_set_version(
                plant=data["plant"])
            if data["rule_set_version"] is None:
                self.add_error("rule_set_version", "The plant has no published rules: choose "
                                                   "a version.")
                return data
        data["part_revision"] = None
        if data.get("part"):
            part = Part.objects.filter(number=data["part"]).first()
            revision = part and ebom_selectors.revision_to_show(
                part=part, label=data.get("revision"), as_of=data.get("as_of"))
            if revision is None:
                self.add_error("part", "No such part revision.")
            data["part_revision"] = revision
        return data


@admin.register(MBom)
class MBomAdmin(_ReadOnlyAdmin):
    list_display = ["revision", "plant", "current", "created_at"]
    list_filter = ["plant"]
    search_fields = ["revision__part__number"]
    fields = ["revision", "plant", "created_at"]
    readonly_fields = fields
    inlines = [MBomVersionInline]
    change_form_template = "bom/mbom_change_form.html"
    change_list_template = "bom/mbom_change_list.html"
    action_form = ReasonActionForm
    actions = ["reapply_rules"]

    def get_queryset(self, request):
        return mbom_selectors.mboms_list()

    def has_generate_permission(self, request):
        return request.user.has_perm("bom.generate_mbom")

    @admin.action(description="Re-apply the rules in force to the selected mBOMs' products "
                              "(a job each; the reason box says why)", permissions=["generate"])
    def reapply_rules(self, request, queryset):
        reason = action_reason(request, f"Rules re-applied in the admin by {request.user}")
        jobs = []
        for mbom in queryset.select_related("revision__part", "plant"):
            try:
                jobs += mbom_services.mboms_generate_on_demand(
                    revision=mbom.revision, plants=[mbom.plant], actor=request.user,
                    reason=reason)
            except DomainError as exc:
                self.message_user(request, f"{mbom}: {exc.detail}", messages.ERROR)
        if jobs:
            self.message_user(request, f"{len(jobs)} regeneration job(s) started: "
                                       f"{', '.join(f'#{job.pk}' for job in jobs)}.",
                              messages.SUCCESS)

    @admin.display(description="current version", ordering="current_number")
    def current(self, obj):
        if obj.current_version_id is None:
            return None
        url = reverse("admin:bom_mbomversion_change", args=[obj.current_version_id])
        return format_html('<a href="{}">v{}</a>', url, obj.current_number)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [path("preview/", view(self.preview_view), name="bom_mbom_preview"),
                path("generate/", view(self.generate_view), name="bom_mbom_generate"),
                path("<path:object_id>/accountability/", view(self.accountability_view),
                     name="bom_mbom_accountability"),
                *super().get_urls()]

    def _render(self, request, template, title, context):
        return TemplateResponse(request, template, {
            **self.admin_site.each_context(request), "opts": self.model._meta, "title": title,
            **context})

    def preview_view(self, request):
        if not request.user.has_perm("bom.view_mbom"):
            raise PermissionDenied
        form = PreviewForm(request.GET or None)
        context = {"form": form}
        if request.GET and form.is_valid():
            data = form.cleaned_data
            try:
                if data["part_revision"] is None:
                    context["plant_preview"] = generation.plant_preview(
                        plant=data["plant"], rule_set_version=data["rule_set_version"])
                else:
                    preview = generation.mbom_preview(
                        revision=data["part_revision"], plant=data["plant"],
                        rule_set_version=data["rule_set_version"], as_of=data.get("as_of"))
                    context.update(preview=preview, summary=generation.ProductSummary(preview),
                                   assemblies=[
                                       {"assembly": a,
                                        "rows": _line_rows(a.diff.entries, preview.lineage)}
                                       for a in preview.assemblies])
            except DomainError as exc:
                context["refusal"] = exc
        return self._render(request, "bom/mbom_preview.html", "Preview mBOMs", context)

    def generate_view(self, request):
        if not self.has_generate_permission(request):
            raise PermissionDenied
        form = GenerateForm(request.POST or None, initial=request.GET.dict())
        refusal = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                jobs = mbom_services.mboms_generate_on_demand(
                    revision=data["part_revision"], plants=list(data["plants"]) or None,
                    actor=request.user, reason=data["reason"])
            except DomainError as exc:
                refusal = exc
            else:
                self.message_user(request, f"Generating {data['part_revision']}: "
                                           f"{len(jobs)} job(s) started.", messages.SUCCESS)
                return redirect(reverse("admin:bom_regenerationjob_changelist")
                                + f"?id__in={','.join(str(job.pk) for job in jobs)}")
        return self._render(request, "bom/mbom_generate.html", "Generate mBOMs now",
                            {"form": form, "refusal": refusal})

    def accountability_view(self, request, object_id):
        mbom = self.get_object(request, object_id)
        if mbom is None:
            raise Http404
        try:
            report = generation.accountability(revision=mbom.revision, plant=mbom.plant)
        except DomainError as exc:
            report, refusal = None, exc
        else:
            refusal = None
        return self._render(request, "bom/mbom_accountability.html",
                            f"Accountability of {mbom.revision} at {mbom.plant.code}",
                            {"mbom": mbom, "report": report, "refusal": refusal})


@admin.register(MBomVersion)
class MBomVersionAdmin(_ReadOnlyAdmin):
    list_display = ["mbom", "number", "is_current", "rule_set_version", "as_of", "line_count",
                    "created_at", "created_by"]
    list_filter = ["is_current", "mbom__plant"]
    search_fields = ["mbom__revision__part__number"]
    list_select_related = ["mbom__revision__part", "mbom__plant",
                           "rule_set_version__rule_set__plant", "created_by"]
    fields = ["mbom", "number", "is_current", "rule_set_version", "as_of", "root", "cause_link",
              "created_at", "created_by", "reason", "line_count", "fingerprint", "content_hash",
              "resolved_revisions", "ebom_ids", "warnings"]
    readonly_fields = fields
    change_form_template = "bom/mbomversion_change_form.html"
    action_form = ReasonActionForm
    actions = ["send_to_erp"]

    def get_queryset(self, request):
        return mbom_selectors.mbom_versions_list()

    @admin.action(description="Send the selected current versions to their plant's ERP again "
                              "(after connecting a new ERP)", permissions=["generate"])
    def send_to_erp(self, request, queryset):
        try:
            sent = mbom_versions_send(versions=list(queryset), actor=request.user,
                                      reason=action_reason(request, "Sent to the ERP again"))
        except DomainError as exc:
            self.message_user(request, f"Nothing sent: {exc}", messages.ERROR)
            return
        self.message_user(request, f"{len(sent)} message(s) written to the outbox; the flow "
                                   "monitor shows their delivery.", messages.SUCCESS)

    def has_generate_permission(self, request) -> bool:
        return request.user.has_perm("bom.generate_mbom")

    @admin.display(description="cause")
    def cause_link(self, obj):
        if obj.cause_type_id is None:
            return None
        model = obj.cause_type.model_class()
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change",
                      args=[obj.cause_id])
        return format_html('<a href="{}">{} #{}</a>', url, model._meta.verbose_name,
                           obj.cause_id)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        version = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if version is not None:
            lines = [mbom_selectors.line_data(line)
                     for line in mbom_selectors.mbom_lines(version_ids=[version.pk])]
            lookup = mbom_selectors.lineage_lookup(
                lineages=[line.lineage for line in lines],
                extra_rule_ids=[rule_id for _, _, rule_id, _ in version.set_aside if rule_id])
            extra.update(version=version, rows=_line_rows(_unchanged(lines), lookup),
                         set_aside=[{"kind": kind, "path": lookup.sources({"paths": [path]})[0],
                                     "rule": lookup.rules.get(rule_id)}
                                    for kind, path, rule_id, _ in version.set_aside],
                         others=MBomVersion.objects.filter(mbom_id=version.mbom_id)
                         .exclude(pk=version.pk).values("pk", "number"))
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [path("<path:object_id>/diff/", view(self.diff_view),
                     name="bom_mbomversion_diff"),
                *super().get_urls()]

    def diff_view(self, request, object_id):
        new = self.get_object(request, object_id)
        try:
            old = self.get_queryset(request).get(pk=int(request.GET.get("against", "")))
        except (ValueError, MBomVersion.DoesNotExist):
            old = None
        if new is None or old is None:
            raise Http404("Choose two versions.")
        diff = generation.mbom_version_diff(old=old, new=new)
        lookup = mbom_selectors.lineage_lookup(lineages=[e.line.lineage for e in diff.entries])
        return TemplateResponse(request, "bom/mbom_diff.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": f"mBOM v{old.number} → v{new.number}", "old": old, "new": new, "diff": diff,
            "rows": _line_rows(diff.entries, lookup)})


@admin.register(RegenerationJob)
class RegenerationJobAdmin(_ReadOnlyAdmin):
    list_display = ["id", "plant", "kind", "rule_set_version", "status", "progress",
                    "error_count", "changed", "sent", "created_at", "heartbeat_at", "finished_at"]
    list_filter = ["status", "kind", "plant"]
    fields = ["plant", "kind", "product_list", "rule_set_version", "status", "progress", "total",
              "done", "changed",
              "sent", "error_count", "error_list", "cursor", "created_at", "created_by",
              "reason", "started_at", "heartbeat_at", "finished_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return mbom_selectors.regeneration_jobs_list()

    @admin.display(description="progress")
    def progress(self, obj):
        return format_html('<progress max="{}" value="{}"></progress> {} / {}', obj.total or 1,
                           obj.done, obj.done, obj.total)

    @admin.display(description="products")
    def product_list(self, obj):
        products = list(obj.products.select_related("part"))
        return ", ".join(map(str, products)) if products else "every product of the plant"

    @admin.display(description="errors (latest)")
    def error_list(self, obj):
        return format_html_join("", "<div><strong>{}</strong>: {}</div>",
                                ((e.get("product"), e.get("message")) for e in obj.errors))


@admin.register(ReleaseGeneration)
class ReleaseGenerationAdmin(_ReadOnlyAdmin):
    """What each release did to the mBOMs, per product and plant — including where it could not
    generate, so no plant is skipped silently."""

    list_display = ["created_at", "product", "plant", "status", "version_link", "job_link",
                    "detail", "created_by"]
    list_filter = ["status", "plant"]
    search_fields = ["product__part__number", "released__part__number"]
    fields = ["product", "plant", "status", "released_list", "version_link", "job_link", "detail",
              "created_at", "created_by", "reason"]
    readonly_fields = fields

    def get_queryset(self, request):
        return (super().get_queryset(request)
                .select_related("product__part", "plant", "mbom_version", "job", "created_by")
                .prefetch_related("released__part"))

    @admin.display(description="released")
    def released_list(self, obj):
        return ", ".join(str(revision) for revision in obj.released.all())

    @admin.display(description="mBOM version")
    def version_link(self, obj):
        if obj.mbom_version is None:
            return None
        url = reverse("admin:bom_mbomversion_change", args=[obj.mbom_version_id])
        return format_html('<a href="{}">v{}</a>', url, obj.mbom_version.number)

    @admin.display(description="job")
    def job_link(self, obj):
        if obj.job_id is None:
            return None
        url = reverse("admin:bom_regenerationjob_change", args=[obj.job_id])
        return format_html('<a href="{}">#{}</a>', url, obj.job_id)
