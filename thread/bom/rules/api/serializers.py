"""Mapping rule sets, read-only: rule sets with their versions, rules and events."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from thread.bom.choices import VersionStatus
from thread.bom.models import (
    MappingRule,
    MappingRuleSet,
    MappingRuleSetEvent,
    MappingRuleSetVersion,
)


class _PlantBrief(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()


class _VersionBrief(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()


class MappingRuleSetSerializer(serializers.ModelSerializer):
    plant = _PlantBrief(read_only=True)
    current_version = serializers.SerializerMethodField(
        help_text="The published version in force, or null.")
    open_version = serializers.SerializerMethodField(
        help_text="The draft or version pending approval, or null.")

    class Meta:
        model = MappingRuleSet
        fields = ["id", "plant", "name", "description", "requires_approval", "current_version",
                  "open_version", "created_at"]

    @extend_schema_field(_VersionBrief(allow_null=True))
    def get_current_version(self, obj):
        if obj.current_version_id is None:
            return None
        return {"id": obj.current_version_id, "number": obj.current_number,
                "status": VersionStatus.PUBLISHED}

    @extend_schema_field(_VersionBrief(allow_null=True))
    def get_open_version(self, obj):
        if obj.open_version_id is None:
            return None
        return {"id": obj.open_version_id, "number": None, "status": obj.open_status}


class MappingRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = MappingRule
        fields = ["id", "order", "name", "condition", "action", "params", "enabled"]


class MappingRuleSetEventSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = MappingRuleSetEvent
        fields = ["kind", "actor", "at", "reason", "details"]


class MappingRuleSetVersionSerializer(serializers.ModelSerializer):
    rule_set = serializers.IntegerField(source="rule_set_id", read_only=True)
    plant = _PlantBrief(source="rule_set.plant", read_only=True)
    based_on = serializers.IntegerField(source="based_on.number", read_only=True,
                                        allow_null=True, default=None)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    published_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    rules = MappingRuleSerializer(many=True, read_only=True)
    events = MappingRuleSetEventSerializer(many=True, read_only=True)

    class Meta:
        model = MappingRuleSetVersion
        fields = ["id", "rule_set", "plant", "number", "status", "based_on", "notes",
                  "created_at", "created_by", "requested_at", "requested_by", "approved_at",
                  "approved_by", "published_at", "published_by", "reason", "rules", "events"]


# --- Comparing two versions --------------------------------------------------------------------


class DiffQuerySerializer(serializers.Serializer):
    against = serializers.IntegerField(required=False, min_value=1,
                                       help_text="Version id; default: the version in force "
                                                 "(or the one this version replaced).")


class _DiffRuleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    order = serializers.IntegerField()
    name = serializers.CharField()
    action = serializers.CharField()
    condition = serializers.JSONField()
    params = serializers.JSONField()
    enabled = serializers.BooleanField()


class RuleFieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    old = serializers.JSONField()
    new = serializers.JSONField()


class _RuleChangeSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["added", "removed", "moved", "changed", "unchanged"])
    name = serializers.CharField()
    moved = serializers.BooleanField()
    old = _DiffRuleSerializer(allow_null=True)
    new = _DiffRuleSerializer(allow_null=True)
    fields = RuleFieldChangeSerializer(many=True)


class RuleSetDiffSummarySerializer(serializers.Serializer):
    added = serializers.IntegerField()
    removed = serializers.IntegerField()
    moved = serializers.IntegerField()
    changed = serializers.IntegerField()


class RuleSetDiffSerializer(serializers.Serializer):
    against = _VersionBrief()
    summary = RuleSetDiffSummarySerializer(source="diff.summary")
    changes = _RuleChangeSerializer(many=True, source="diff.changes")
