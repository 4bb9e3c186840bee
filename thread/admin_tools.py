"""Admin plumbing shared by the apps: every admin edit asks why, and history records it."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import DeletedObject
from simple_history.template_utils import HistoricalRecordContextHelper

from thread.errors import DomainError
from thread.history import audited

REASON_HELP = "Why this change? Recorded in the history with your name."
MAX_PROBLEM_MESSAGES = 50


def report_refusal(admin_view, request, exc: DomainError) -> None:
    """A service's refusal on an admin page: its sentence, then each problem (up to a limit)."""
    admin_view.message_user(request, exc.detail, messages.ERROR)
    for item in exc.errors[:MAX_PROBLEM_MESSAGES]:
        admin_view.message_user(request, item.detail, messages.ERROR)
    if len(exc.errors) > MAX_PROBLEM_MESSAGES:
        admin_view.message_user(request, f"… and {len(exc.errors) - MAX_PROBLEM_MESSAGES} more.",
                                messages.ERROR)


class ReasonActionForm(ActionForm):
    reason = forms.CharField(required=False, label="Reason",
                             widget=forms.TextInput(attrs={"size": 40}))


def action_reason(request, default: str) -> str:
    return (request.POST.get("reason") or "").strip() or default


NOT_SET = "—"


class _HistoryDeltas(HistoricalRecordContextHelper):
    """simple-history shows a reference set for the first time as "Deleted user (pk=None)" (it
    takes the empty old value for a deleted row); an empty value reads "—"."""

    def prepare_delta_change_value(self, change, value):
        if isinstance(value, DeletedObject) and value.pk is None:
            return NOT_SET
        return super().prepare_delta_change_value(change, value)


class HistoryAdmin(SimpleHistoryAdmin):
    """Every history page of Thread: the history as an auditor reads it."""

    def get_historical_record_context_helper(self, request, historical_record):
        return _HistoryDeltas(self.model, historical_record)


class AuditedAdmin(HistoryAdmin):
    """A history-tracked admin whose change form has a required Reason field, drawn next to the
    save buttons (templates/admin/submit_line.html) rather than in a fieldset: a model field of
    the same name (a version's "why it was published") can then still be shown, and the input
    is never hidden.

    `save_with_reason` is where a subclass hands the write to its service; the default only
    attaches who/why to a plain reference-data save (the model form already ran full_clean)."""

    action_form = ReasonActionForm

    def get_form(self, request, obj=None, change=False, **kwargs):
        # "reason" is not a model field: keep it out of the model form factory, add it after.
        if kwargs.get("fields"):
            kwargs["fields"] = [f for f in kwargs["fields"] if f != "reason"]
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {
            "reason": forms.CharField(widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
                                      help_text=REASON_HELP),
        })

    def get_fields(self, request, obj=None):
        # An admin without `fields` lists the form's declared fields, the reason among them: it
        # would be drawn in the fieldset too, and the browser would send the empty copy last.
        return [f for f in super().get_fields(request, obj) if f != "reason"]

    def save_model(self, request, obj, form, change):
        self.save_with_reason(request, obj, form, change, form.cleaned_data["reason"])

    def save_with_reason(self, request, obj, form, change, reason: str) -> None:
        audited(obj, request.user, reason).save()


class ActionsOnlyAdmin(HistoryAdmin):
    """Rows that change only through named steps (actions and buttons, each with its note, each a
    service call): the page shows every field read-only and offers no Save, and a save posted
    anyway is refused, so no history row is ever written without a reason."""

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = {"show_save": False, "show_save_and_continue": False,
                 "show_save_and_add_another": False, **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def save_model(self, request, obj, form, change):
        raise PermissionDenied("This page changes only through its steps, each with a note.")


class ReadOnlyInline(admin.TabularInline):
    """An inline that shows related rows; they are changed on their own pages (via services)."""

    extra = 0
    can_delete = False
    show_change_link = True

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False


class ReadOnlyAdminMixin:
    """Admin pages that show rows other parts of Thread (or another system) own: no add, change
    or delete here — those rows change only through their services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
