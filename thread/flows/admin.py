import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html

from connectors.registry import connector_names
from thread.admin_tools import (
    AuditedAdmin,
    HistoryAdmin,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    ReasonActionForm,
    action_reason,
)
from thread.errors import DomainError

from . import outbox, services
from .models import (
    ApiKey,
    AttentionItem,
    DeliveryAttempt,
    DriftCheckRun,
    DriftFinding,
    ExternalSystem,
    InboundMessage,
    OutboundMessage,
    OutboundMessageEvent,
    PeerObject,
)


class ApiKeyInline(ReadOnlyInline):
    model = ApiKey
    fields = ["prefix", "label", "created_at", "expires_at", "revoked_at", "last_used_at"]


@admin.register(ExternalSystem)
class ExternalSystemAdmin(AuditedAdmin):
    # An outbound base URL typed without a scheme means https (Django 6's default already).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "kind", "connector", "enabled", "service_user"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "connector":
            # The connectors Thread has, to pick from (a typo would only show at delivery).
            return forms.ChoiceField(
                choices=[("", "— (Thread does not send to it)")]
                + [(name, name) for name in connector_names()], required=False,
                help_text=db_field.help_text)
        return super().formfield_for_dbfield(db_field, request, **kwargs)
    list_filter = ["kind", "enabled"]
    search_fields = ["name"]
    readonly_fields = ["service_user", "created_at"]
    inlines = [ApiKeyInline]
    actions = ["issue_key", "test_connection"]
    change_form_template = "flows/externalsystem_change_form.html"

    def save_with_reason(self, request, obj, form, change, reason):
        if change:
            super().save_with_reason(request, obj, form, change, reason)
            return
        # What the add form says about delivery is kept too (connector, URL, timeouts, …).
        delivery = {name: getattr(obj, name) for name in services.DELIVERY_FIELDS}
        created = services.system_create(name=obj.name, kind=obj.kind, actor=request.user,
                                         reason=reason, description=obj.description,
                                         enabled=obj.enabled, **delivery)
        obj.pk, obj.service_user = created.pk, created.service_user

    @admin.action(description="Issue a new API key (shown once)")
    def issue_key(self, request, queryset):
        reason = action_reason(request, f"Key issued in the admin by {request.user}")
        for system in queryset:
            issued = services.api_key_issue(system=system, actor=request.user, reason=reason)
            self.message_user(
                request,
                format_html("New key for {}: <code>{}</code> — copy it now, it is not shown "
                            "again. Expires {}.", system.name, issued.raw_key,
                            issued.api_key.expires_at.date()),
                messages.WARNING,
            )

    def _connection_test(self, request, system) -> None:
        report = services.system_connection_test(system=system, actor=request.user)
        self.message_user(request, f"{system.name}: {report.summary}",
                          messages.SUCCESS if report.ok else messages.ERROR)

    @admin.action(description="Test connection", permissions=["change"])
    def test_connection(self, request, queryset):
        # One probe after the other, each within its system's connect + read timeout.
        for system in queryset:
            self._connection_test(request, system)

    def get_urls(self):
        return [path("<path:object_id>/test-connection/",
                     self.admin_site.admin_view(self.test_connection_view),
                     name="flows_externalsystem_test_connection"), *super().get_urls()]

    def test_connection_view(self, request, object_id):
        """The "Test connection" button of the system's page: the probe, then back to the page
        with its message."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        system = self.get_object(request, object_id)
        if system is None:
            raise Http404
        if not self.has_change_permission(request, system):
            raise PermissionDenied
        self._connection_test(request, system)
        return redirect(reverse("admin:flows_externalsystem_change", args=[system.pk]))


@admin.register(ApiKey)
class ApiKeyAdmin(AuditedAdmin):
    list_display = ["prefix", "system", "label", "created_at", "expires_at", "revoked_at",
                    "last_used_at"]
    list_filter = ["system"]
    list_select_related = ["system"]
    readonly_fields = ["system", "prefix", "created_at", "created_by", "revoked_at",
                       "revoked_by", "last_used_at"]
    exclude = ["key_hash"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # keys are issued from the system's page, where the key is shown once

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        reason = action_reason(request, f"Revoked in the admin by {request.user}")
        revoked = 0
        for api_key in queryset.select_related("system"):
            # The service leaves a key revoked before as it was (its first revocation stands):
            # the message counts only the keys this action revoked.
            revoked += api_key.revoked_at is None
            services.api_key_revoke(api_key=api_key, actor=request.user, reason=reason)
        self.message_user(request, f"{revoked} key(s) revoked.", messages.SUCCESS)


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["received_at", "system", "method", "path", "idempotency_key", "status",
                    "response_status", "correlation_id"]
    list_filter = ["status", "system", "method"]
    search_fields = ["idempotency_key", "correlation_id", "path"]
    list_select_related = ["system"]
    date_hierarchy = "received_at"


class DeliveryAttemptInline(ReadOnlyInline):
    model = DeliveryAttempt
    fields = ["number", "started_at", "duration_ms", "request_summary", "response_status",
              "outcome", "error_class", "error", "response_excerpt", "steps", "worker"]
    show_change_link = False


class OutboundMessageEventInline(ReadOnlyInline):
    model = OutboundMessageEvent
    fields = ["at", "kind", "from_status", "to_status", "actor", "reason"]
    show_change_link = False


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The outbox as operators see it: read-only rows; the actions retry, replay and cancel ask
    for a reason and go through the outbox services, which record who and why."""

    list_display = ["id", "created_at", "system", "topic", "ordering_key", "status", "attempts",
                    "next_attempt_at", "correlation_id", "short_error"]
    list_filter = ["status", "system", "topic"]
    search_fields = ["=ordering_key", "=correlation_id", "=idempotency_key"]
    list_select_related = ["system"]
    date_hierarchy = "created_at"
    action_form = ReasonActionForm
    actions = ["retry_now", "replay", "replay_confirmed", "cancel"]
    inlines = [DeliveryAttemptInline, OutboundMessageEventInline]
    fields = ["system", "topic", "status", "ordering_key", "correlation_id", "idempotency_key",
              "about_type", "about_id", "cause_type", "cause_id", "attempts", "leases",
              "created_at", "enqueued_at", "next_attempt_at", "not_before", "lease_until",
              "delivered_at", "finished_at", "superseded_by", "last_error", "payload_pretty"]
    readonly_fields = fields

    def has_operate_permission(self, request) -> bool:
        return request.user.has_perm("flows.operate_outboundmessage")

    @admin.display(description="last error")
    def short_error(self, obj):
        return obj.last_error[:80]

    @admin.display(description="payload")
    def payload_pretty(self, obj):
        return format_html("<pre style='white-space: pre-wrap'>{}</pre>",
                           json.dumps(obj.payload, indent=2, ensure_ascii=False))

    def _apply(self, request, queryset, verb: str, operation) -> None:
        reason = action_reason(request, "")
        if not reason:
            self.message_user(request, f"Nothing done: {verb} needs a reason.", messages.ERROR)
            return
        done, refused = 0, []
        for message in queryset:
            try:
                operation(message=message, actor=request.user, reason=reason)
                done += 1
            except DomainError as exc:
                refused.append(f"#{message.pk}: {exc.detail}")
        if done:
            self.message_user(request, f"{verb}: {done} message(s).", messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.WARNING)

    @admin.action(description="Retry now (skip the backoff)", permissions=["operate"])
    def retry_now(self, request, queryset):
        self._apply(request, queryset, "Retry now", outbox.outbound_message_retry)

    @admin.action(description="Replay dead or cancelled messages", permissions=["operate"])
    def replay(self, request, queryset):
        self._apply(request, queryset, "Replay", outbox.outbound_message_replay)

    @admin.action(description="Replay, also superseded or overtaken ones (sends older data)",
                  permissions=["operate"])
    def replay_confirmed(self, request, queryset):
        def replay(**kwargs):
            return outbox.outbound_message_replay(confirm=True, **kwargs)

        self._apply(request, queryset, "Replay (confirmed)", replay)

    @admin.action(description="Cancel (give up on them)", permissions=["operate"])
    def cancel(self, request, queryset):
        self._apply(request, queryset, "Cancel", outbox.outbound_message_cancel)


@admin.register(AttentionItem)
class AttentionItemAdmin(ReadOnlyAdminMixin, HistoryAdmin):
    """Records of other parts of Thread that need a person (a held work order…): raised and
    resolved by the part that owns the record; the link leads to it."""

    list_display = ["reference", "kind", "system", "state", "opened_at", "resolved_at"]
    list_filter = ["state", "kind", "system"]
    search_fields = ["reference", "reason"]
    list_select_related = ["system"]
    readonly_fields = ["reference", "kind", "system", "state", "reason", "admin_url", "opened_at",
                       "updated_at", "resolved_at", "resolution"]
    fields = readonly_fields


@admin.register(PeerObject)
class PeerObjectAdmin(ReadOnlyAdminMixin, HistoryAdmin):
    """The ids converging peers assigned to Thread's objects (an InvenTree part's pk), learnt
    by delivering; the next delivery starts from them (docs/connectors.md)."""

    list_display = ["system", "kind", "natural_key", "peer_id", "updated_at"]
    list_filter = ["system", "kind"]
    search_fields = ["natural_key", "peer_id"]
    list_select_related = ["system"]
    readonly_fields = ["system", "kind", "natural_key", "peer_id", "first_seen_at", "updated_at"]
    fields = readonly_fields



@admin.register(DriftFinding)
class DriftFindingAdmin(ReadOnlyAdminMixin, HistoryAdmin):
    """Drift findings with their history (who re-pushed or acknowledged, and why). Operators
    act on them on the flow monitor's drift page."""

    list_display = ["object_key", "object", "field", "thread_value", "peer_value", "system",
                    "status", "first_seen_at", "last_seen_at"]
    list_filter = ["status", "system"]
    search_fields = ["object_key", "object"]
    list_select_related = ["system"]
    readonly_fields = ["system", "topic", "object_key", "object", "field", "thread_value",
                       "peer_value", "status", "message", "re_push", "first_seen_at",
                       "last_seen_at", "closed_at"]
    fields = readonly_fields


@admin.register(DriftCheckRun)
class DriftCheckRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every run of the drift check: how far it got, what it found, why it stopped."""

    list_display = ["id", "system", "trigger", "state", "sweep", "started_at", "finished_at",
                    "objects_checked", "findings_opened", "findings_closed"]
    list_filter = ["state", "trigger", "system"]
    list_select_related = ["system"]
    readonly_fields = ["system", "trigger", "state", "sweep", "sweep_started_at", "started_at",
                       "heartbeat_at", "finished_at", "resumed_from", "cursor", "sweep_done",
                       "objects_checked", "objects_skipped", "objects_failed", "differences",
                       "findings_opened", "findings_closed", "error", "worker"]
    fields = readonly_fields
