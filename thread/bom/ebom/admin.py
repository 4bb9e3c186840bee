"""eBOM pages: the snapshots with their lines, and the CSV/XLSX import with its preview."""

import secrets

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from thread.admin_tools import ReadOnlyAdminMixin
from thread.bom.ebom import services
from thread.bom.ebom.file_import import COLUMNS, SheetRows, read_rows, rows_payload, sample_csv
from thread.bom.models import (
    EBom,
    EBomLine,
)
from thread.errors import DomainError

SESSION_KEY = "bom_import"  # one pending import per session: the previewed body, re-checked
PREVIEW_LIST_LIMIT = 50


class EBomLineInline(admin.TabularInline):
    model = EBomLine
    fields = ["find_number", "part", "quantity", "unit", "item_type", "reference_designators",
              "attributes"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("part", "unit")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(EBom)
class EBomAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Snapshots are immutable: shown, never edited. New ones come from a PLM push or from the
    import on this page."""

    list_display = ["revision", "number", "is_current", "line_count", "created_at", "created_by",
                    "reason"]
    list_filter = ["is_current", "revision__status"]
    search_fields = ["revision__part__number"]
    list_select_related = ["revision__part", "created_by"]
    readonly_fields = ["revision", "number", "is_current", "created_at", "created_by", "reason",
                       "inbound_message", "line_count", "fingerprint"]
    fields = readonly_fields
    inlines = [EBomLineInline]
    change_list_template = "bom/ebom_change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("revision__part", "created_by",
                                                            "inbound_message")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_view), name="bom_ebom_import"),
            path("import/sample.csv", view(self.sample_view), name="bom_ebom_import_sample"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra = {"can_import": request.user.has_perm("bom.add_ebom"), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    def sample_view(self, request):
        response = HttpResponse(sample_csv(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="ebom-sample.csv"'
        return response

    def import_view(self, request):
        if not request.user.has_perm("bom.add_ebom"):
            raise PermissionDenied
        may_release = request.user.has_perm("catalog.release_partrevision")
        if request.method == "POST" and request.POST.get("step") == "confirm":
            return self._confirm(request, may_release)
        form = ImportForm(request.POST or None, request.FILES or None, may_release=may_release)
        context = {"form": form}
        if request.method == "POST" and form.is_valid():
            context.update(self._preview(request, form))
        return self._render(request, context)

    def _preview(self, request, form) -> dict:
        upload = form.cleaned_data["file"]
        data = form.cleaned_data
        sheet = SheetRows(rows=[], row_numbers=[])
        try:
            sheet = read_rows(name=upload.name, data=upload.read(),
                              max_lines=settings.THREAD_MAX_EBOM_LINES)
            payload = rows_payload(sheet, part=data["part"], revision=data["revision"],
                                   release=data.get("release", False))
            plan = services.ebom_validate(payload=payload)
        except DomainError as exc:
            request.session.pop(SESSION_KEY, None)
            return {"problems": _problems(exc, sheet), "refusal": exc.detail}
        token = secrets.token_urlsafe(16)
        request.session[SESSION_KEY] = {
            "token": token, "payload": payload, "reason": data["reason"], "file": upload.name,
            "row_numbers": sheet.row_numbers}
        return {"plan": plan, "token": token, "rows": len(sheet.rows), "file": upload.name,
                "limit": PREVIEW_LIST_LIMIT}

    def _confirm(self, request, may_release: bool):
        pending = request.session.get(SESSION_KEY)
        if not pending or pending["token"] != request.POST.get("token"):
            self.message_user(request, "That preview has expired; upload the file again.",
                              messages.WARNING)
            return redirect(reverse("admin:bom_ebom_import"))
        if pending["payload"].get("release") and not may_release:
            raise PermissionDenied
        sheet = SheetRows(rows=pending["payload"]["rows"], row_numbers=pending["row_numbers"])
        try:
            result = services.ebom_push(payload=pending["payload"], actor=request.user,
                                        reason=pending["reason"])
        except DomainError as exc:
            form = ImportForm(may_release=may_release)
            return self._render(request, {"form": form, "problems": _problems(exc, sheet),
                                          "refusal": exc.detail})
        finally:
            request.session.pop(SESSION_KEY, None)
        self.message_user(
            request,
            f"Imported {pending['file']}: {len(result.snapshots)} new eBOM snapshot(s), "
            f"{len(result.created_parts)} new part(s), {len(result.created_revisions)} new "
            f"revision(s), {len(result.released)} released, {len(result.unchanged)} unchanged.",
            messages.SUCCESS)
        return redirect(reverse("admin:bom_ebom_changelist"))

    def _render(self, request, context):
        return TemplateResponse(request, "bom/ebom_import.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta,
            "title": "Import an eBOM (CSV or XLSX)", "columns": COLUMNS, **context})


class ImportForm(forms.Form):
    file = forms.FileField(help_text="A .csv (UTF-8, comma or semicolon) or .xlsx file; first "
                                     "sheet, first row = column names.")
    part = forms.CharField(required=False, max_length=64, label="Top part",
                           help_text="Blank: the one parent that is never a child.")
    revision = forms.CharField(required=False, max_length=16, label="Top revision",
                               help_text="Blank: the top part's current draft (A if new).")
    release = forms.BooleanField(required=False, help_text="Release the top revision and every "
                                                           "draft revision the file names.")
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
                             help_text="Why: recorded on every snapshot and in history.")

    def __init__(self, *args, may_release: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_release:
            del self.fields["release"]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.THREAD_MAX_BULK_REQUEST_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {settings.THREAD_MAX_BULK_REQUEST_BYTES} bytes.")
        return upload


def _problems(exc: DomainError, sheet: SheetRows) -> list[dict]:
    return [{"where": sheet.where(item.pointer), "code": item.code, "detail": item.detail}
            for item in exc.errors] or [{"where": "file", "code": exc.kind, "detail": exc.detail}]
