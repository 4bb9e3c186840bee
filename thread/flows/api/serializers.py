from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..choices import AlertKind, OutboundStatus
from ..models import (
    DeliveryAttempt,
    DriftFinding,
    ExternalSystem,
    OutboundMessage,
    OutboundMessageEvent,
)


class SystemBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExternalSystem
        fields = ["id", "name", "kind"]


@extend_schema_field({"type": "object", "nullable": True,
                      "properties": {"type": {"type": "string", "example": "bom.mbomversion"},
                                     "id": {"type": "string"}}})
class ObjectRefField(serializers.Field):
    """A generic relation as {"type": "app_label.model", "id": "..."}; null when absent."""

    def __init__(self, prefix: str, **kwargs):
        self.prefix = prefix
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, message):
        content_type = getattr(message, f"{self.prefix}_type")
        if content_type is None:
            return None
        return {"type": f"{content_type.app_label}.{content_type.model}",
                "id": getattr(message, f"{self.prefix}_id")}


class OutboundMessageSerializer(serializers.ModelSerializer):
    system = SystemBriefSerializer(read_only=True)
    about = ObjectRefField("about")
    cause = ObjectRefField("cause")

    class Meta:
        model = OutboundMessage
        fields = ["id", "system", "topic", "about", "cause", "ordering_key", "correlation_id",
                  "idempotency_key", "status", "attempts", "created_at", "next_attempt_at",
                  "not_before", "delivered_at", "finished_at", "last_error", "superseded_by"]


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["number", "started_at", "duration_ms", "request_summary", "response_status",
                  "response_excerpt", "outcome", "error_class", "error"]


class OutboundMessageEventSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = OutboundMessageEvent
        fields = ["at", "kind", "from_status", "to_status", "actor", "reason"]


class OutboundMessageDetailSerializer(OutboundMessageSerializer):
    attempts_log = DeliveryAttemptSerializer(source="delivery_attempts", many=True, read_only=True)
    events = OutboundMessageEventSerializer(many=True, read_only=True)

    class Meta(OutboundMessageSerializer.Meta):
        fields = [*OutboundMessageSerializer.Meta.fields, "payload", "attempts_log", "events"]


class OperatorActionSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Why: recorded with your name.")


class ReplaySerializer(OperatorActionSerializer):
    confirm = serializers.BooleanField(
        default=False, help_text="Needed when newer data for the same object and topic exists.")


class PeerErrorSerializer(serializers.Serializer):
    at = serializers.DateTimeField(help_text="When the failed attempt started.")
    error_class = serializers.CharField(help_text="timeout, connection, http-503, mapping, …")
    response_status = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(help_text="What went wrong (its first 300 characters).")


class SystemFlowStatusSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    delivery_enabled = serializers.BooleanField()
    counts = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Messages by status (pending, sending, delivered, …), each counted up to "
                  "count_cap: a status in counts_capped has more.")
    counts_capped = serializers.ListField(
        child=serializers.ChoiceField(choices=OutboundStatus.choices),
        help_text="The statuses with more than count_cap messages.")
    waiting = serializers.IntegerField(help_text="pending + retrying + sending")
    dead = serializers.IntegerField(help_text="Dead messages that need an operator.")
    oldest_waiting_since = serializers.DateTimeField(
        allow_null=True, help_text="Since when the oldest message on its way has waited (from its "
                                   "write or last replay, or its not_before if later).")
    oldest_waiting_age_seconds = serializers.FloatField(allow_null=True)
    last_delivered_at = serializers.DateTimeField(allow_null=True)
    attempts_last_hour = serializers.IntegerField(
        help_text="Attempts of the last hour (the newest 10,000 at most).")
    failed_attempts_last_hour = serializers.IntegerField(help_text="Not delivered, among those.")
    error_rate_last_hour = serializers.FloatField(allow_null=True)
    window_attempts = serializers.IntegerField(
        help_text="Attempts of the failure window that tell about the peer: delivered, or failed "
                  "for the peer (a message the peer refused does not count); the newest 1,000 "
                  "at most.")
    window_failed_attempts = serializers.IntegerField(help_text="Failed, among those.")
    window_failure_rate = serializers.FloatField(allow_null=True, help_text="0..1; null: no attempts.")
    consecutive_failures = serializers.IntegerField(
        help_text="Failed attempts since the peer's last delivery (counted among its newest 50).")
    consecutive_failures_capped = serializers.BooleanField(
        help_text="The newest 50 attempts all failed: there may be more.")
    failing_since = serializers.DateTimeField(
        allow_null=True, help_text="The first of those failures (null: the last attempt was "
                                   "delivered).")
    unreachable = serializers.BooleanField(
        help_text="The peer's newest attempts all found no connection or timed out.")
    stuck_sending = serializers.IntegerField(
        help_text="Messages in sending whose lease ran out longer ago than the stuck grace.")
    stuck_since = serializers.DateTimeField(allow_null=True,
                                            help_text="When the oldest of those leases ran out.")
    last_error = PeerErrorSerializer(
        allow_null=True, help_text="The newest failed attempt among the newest 50.")
    alerts = serializers.ListField(child=serializers.ChoiceField(choices=AlertKind.choices))


class FlowStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "alert"])
    generated_at = serializers.DateTimeField()
    alert_pending_age_minutes = serializers.IntegerField()
    failure_window_minutes = serializers.IntegerField()
    count_cap = serializers.IntegerField(help_text="Counts by status stop after this.")
    needs_attention = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Open attention items by kind (e.g. work_order_held): records held back for a "
                  "person, listed on the flow monitor.")
    open_drift_findings = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Open drift findings by system name: what someone changed at a peer by hand "
                  "(/api/v1/flows/drift-findings/).")
    systems = SystemFlowStatusSerializer(many=True)


class DriftFindingChangeSerializer(serializers.Serializer):
    """One change of a finding, from its history: who (blank: the drift check), when, why."""

    at = serializers.DateTimeField(source="history_date")
    status = serializers.CharField()
    thread_value = serializers.CharField()
    peer_value = serializers.CharField()
    by = serializers.SerializerMethodField()
    reason = serializers.CharField(source="history_change_reason", allow_null=True)

    def get_by(self, record) -> str:
        return record.history_user.get_username() if record.history_user else ""


class DriftFindingSerializer(serializers.ModelSerializer):
    system = SystemBriefSerializer(read_only=True)
    message = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True,
        help_text="The delivered outbound message the peer was compared with.")
    re_push = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True,
        help_text="The outbound message that re-pushed Thread's state.")

    class Meta:
        model = DriftFinding
        fields = ["id", "system", "topic", "object_key", "object", "field", "thread_value",
                  "peer_value", "status", "first_seen_at", "last_seen_at", "closed_at",
                  "message", "re_push"]


class DriftFindingDetailSerializer(DriftFindingSerializer):
    changes = serializers.SerializerMethodField(help_text="Its history, newest first.")

    class Meta(DriftFindingSerializer.Meta):
        fields = [*DriftFindingSerializer.Meta.fields, "changes"]

    @extend_schema_field(DriftFindingChangeSerializer(many=True))
    def get_changes(self, finding) -> list[dict]:
        return DriftFindingChangeSerializer(
            finding.history.select_related("history_user"), many=True).data


class RePushAnswerSerializer(serializers.Serializer):
    finding = DriftFindingDetailSerializer()
    message = OutboundMessageSerializer(help_text="The new outbound message (pending).")
