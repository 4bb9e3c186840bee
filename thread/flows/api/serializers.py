from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import DeliveryAttempt, ExternalSystem, OutboundMessage, OutboundMessageEvent


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


class SystemFlowStatusSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    delivery_enabled = serializers.BooleanField()
    counts = serializers.DictField(child=serializers.IntegerField(),
                                   help_text="Messages by status (pending, sending, delivered, …).")
    waiting = serializers.IntegerField(help_text="pending + retrying + sending")
    dead = serializers.IntegerField(help_text="Dead messages that need an operator.")
    oldest_waiting_since = serializers.DateTimeField(allow_null=True)
    oldest_waiting_age_seconds = serializers.FloatField(allow_null=True)
    last_delivered_at = serializers.DateTimeField(allow_null=True)
    attempts_last_hour = serializers.IntegerField()
    failed_attempts_last_hour = serializers.IntegerField()
    error_rate_last_hour = serializers.FloatField(allow_null=True)
    alerts = serializers.ListField(child=serializers.CharField(), help_text="dead, stale")


class FlowStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "alert"])
    generated_at = serializers.DateTimeField()
    alert_pending_age_minutes = serializers.IntegerField()
    systems = SystemFlowStatusSerializer(many=True)
