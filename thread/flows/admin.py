from django.contrib import admin, messages
from django.utils.html import format_html

from thread.admin_tools import AuditedAdmin, ReadOnlyInline, action_reason

from . import services
from .models import ApiKey, ExternalSystem, InboundMessage


class ApiKeyInline(ReadOnlyInline):
    model = ApiKey
    fields = ["prefix", "label", "created_at", "expires_at", "revoked_at", "last_used_at"]


@admin.register(ExternalSystem)
class ExternalSystemAdmin(AuditedAdmin):
    list_display = ["name", "kind", "enabled", "service_user"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name"]
    readonly_fields = ["service_user", "created_at"]
    inlines = [ApiKeyInline]
    actions = ["issue_key"]

    def save_with_reason(self, request, obj, form, change, reason):
        if change:
            super().save_with_reason(request, obj, form, change, reason)
            return
        created = services.system_create(name=obj.name, kind=obj.kind, actor=request.user,
                                         reason=reason, description=obj.description)
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
        for api_key in queryset.select_related("system"):
            services.api_key_revoke(api_key=api_key, actor=request.user, reason=reason)
        self.message_user(request, f"{queryset.count()} key(s) revoked.", messages.SUCCESS)


@admin.register(InboundMessage)
class InboundMessageAdmin(admin.ModelAdmin):
    list_display = ["received_at", "system", "method", "path", "idempotency_key", "status",
                    "response_status", "correlation_id"]
    list_filter = ["status", "system", "method"]
    search_fields = ["idempotency_key", "correlation_id", "path"]
    list_select_related = ["system"]
    date_hierarchy = "received_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
