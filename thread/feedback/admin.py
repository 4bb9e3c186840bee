from django.contrib import admin

from thread.admin_tools import AuditedAdmin, HistoryAdmin, ReadOnlyAdminMixin, action_reason

from . import services
from .choices import QualityEventStatus
from .models import (
    FeedbackAlert,
    FeedbackDigest,
    FeedbackThreshold,
    OperationResult,
    OrderProgress,
    QualityEvent,
    RollupDay,
)


@admin.register(OperationResult)
class OperationResultAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The MES's reports as recorded: never edited (a correction is a new result naming the
    one it replaces)."""

    list_display = ["recorded_at", "work_order", "operation_code", "work_center", "good_quantity",
                    "scrap_quantity", "scrap_reason", "operation_completed", "revision", "plant"]
    list_filter = ["plant", "operation_completed", "scrap_reason"]
    search_fields = ["work_order__number", "report_id", "serial", "lot"]
    list_select_related = ["work_order", "work_center__plant", "revision__part", "plant"]
    date_hierarchy = "day"


@admin.register(OrderProgress)
class OrderProgressAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What an ERP that tracks build progress (InvenTree) said of its production orders: one
    reading per change, never edited."""

    list_display = ["read_at", "production_order", "system", "completed_quantity",
                    "scrapped_quantity", "revision", "plant"]
    list_filter = ["system", "plant"]
    search_fields = ["production_order__number", "production_order__part__number"]
    list_select_related = ["production_order", "system", "revision__part", "plant"]
    date_hierarchy = "read_at"


@admin.register(QualityEvent)
class QualityEventAdmin(ReadOnlyAdminMixin, HistoryAdmin):
    """Defects the shop floor reported; the quality group acknowledges them (with a reason)."""

    list_display = ["occurred_at", "defect_code", "quantity", "revision", "plant", "work_order",
                    "operation_code", "disposition", "status"]
    list_filter = ["status", "plant", "disposition", "defect_code"]
    search_fields = ["defect_code", "description", "work_order__number", "event_id"]
    list_select_related = ["revision__part", "plant", "work_order"]
    actions = ["acknowledge"]

    @admin.action(description="Acknowledge (quality has seen it)",
                  permissions=["acknowledge"])
    def acknowledge(self, request, queryset):
        reason = action_reason(request, f"Acknowledged in the admin by {request.user}")
        done = 0
        for event in queryset.filter(status=QualityEventStatus.OPEN):
            services.quality_event_acknowledge(event=event, actor=request.user, reason=reason)
            done += 1
        self.message_user(request, f"{done} quality event(s) acknowledged.")

    def has_acknowledge_permission(self, request) -> bool:
        return request.user.has_perm("feedback.acknowledge_qualityevent")


@admin.register(RollupDay)
class RollupDayAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The roll-ups, one row per revision, plant, operation, work center and plant-local day."""

    list_display = ["day", "revision", "plant", "operation_code", "work_center_code", "results",
                    "good_quantity", "scrap_quantity", "quality_events"]
    list_filter = ["plant", "operation_code"]
    search_fields = ["revision__part__number"]
    list_select_related = ["revision__part", "plant"]
    date_hierarchy = "day"


@admin.register(FeedbackThreshold)
class FeedbackThresholdAdmin(AuditedAdmin):
    """When engineering hears at once (docs/feedback.md, "Alerts to the PLM"): per part and
    plant, or the plant's default. Every change asks why."""

    list_display = ["plant", "part", "min_first_pass_yield", "max_run_vs_standard",
                    "window_days"]
    list_filter = ["plant"]
    search_fields = ["part__number"]
    autocomplete_fields = ["part"]
    list_select_related = ["plant", "part"]


@admin.register(FeedbackAlert)
class FeedbackAlertAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What engineering was told, and whether the figures are back within the threshold."""

    list_display = ["raised_at", "kind", "revision", "plant", "operation_code", "defect_code",
                    "measured", "threshold", "cleared_at"]
    list_filter = ["kind", "plant"]
    search_fields = ["revision__part__number", "defect_code", "detail"]
    list_select_related = ["revision__part", "plant"]


@admin.register(FeedbackDigest)
class FeedbackDigestAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The digests sent to the PLM, one per revision, plant and period."""

    list_display = ["period_end", "revision", "plant", "period_start", "sent_at"]
    list_filter = ["plant"]
    search_fields = ["revision__part__number"]
    list_select_related = ["revision__part", "plant"]
