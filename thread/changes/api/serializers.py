from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from thread.catalog.api.serializers import PartBriefSerializer, ReasonField
from thread.catalog.effectivity import MAX_SERIAL_LENGTH, EffectivityInput, EffectivityKind
from thread.catalog.models import PartRevision
from thread.catalog.validators import REVISION_LABEL_PATTERN

from .. import services
from ..choices import ChangeKind, ChangeOrderStatus, Decision, Disposition, Priority
from ..models import (
    AffectedItem,
    Approval,
    ApprovalStage,
    ChangeOrder,
    ChangeOrderEvent,
    ChangeOrderType,
)

# --- Reading ---------------------------------------------------------------------------------


class RevisionRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = PartRevision
        fields = ["id", "label", "status"]


class EffectivitySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=EffectivityKind.choices)
    effective_from = serializers.DateField(required=False, allow_null=True, default=None,
                                           help_text="Date effectivity: the first day, in each "
                                                     "plant's own time zone.")
    serial_from = serializers.CharField(required=False, allow_blank=True, default="",
                                        max_length=MAX_SERIAL_LENGTH)
    serial_to = serializers.CharField(required=False, allow_blank=True, default="",
                                      max_length=MAX_SERIAL_LENGTH,
                                      help_text="Blank: the first serial and every later one.")
    lot = serializers.CharField(required=False, allow_blank=True, default="",
                                max_length=MAX_SERIAL_LENGTH)


class AffectedItemSerializer(serializers.ModelSerializer):
    part = PartBriefSerializer(read_only=True)
    from_revision = RevisionRefSerializer(read_only=True)
    to_revision = RevisionRefSerializer(read_only=True)
    effectivity = serializers.SerializerMethodField()

    class Meta:
        model = AffectedItem
        fields = ["id", "part", "kind", "from_revision", "to_revision", "effectivity",
                  "stock_disposition", "wip_disposition", "open_orders_disposition", "notes"]

    def get_effectivity(self, item) -> EffectivitySerializer(allow_null=True):
        effectivity = getattr(item.to_revision, "effectivity", None) if item.to_revision else None
        return EffectivitySerializer(effectivity).data if effectivity else None


class ApprovalSerializer(serializers.ModelSerializer):
    approver = serializers.CharField(source="approver_name", read_only=True)

    class Meta:
        model = Approval
        fields = ["id", "stage", "stage_name", "review_round", "decision", "approver", "source",
                  "at", "comment"]


class ChangeOrderEventSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ChangeOrderEvent
        fields = ["id", "kind", "actor", "at", "reason", "from_status", "to_status", "details"]


class ChangeOrderTypeBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChangeOrderType
        fields = ["code", "name"]


class ChangeOrderSerializer(serializers.ModelSerializer):
    type = ChangeOrderTypeBriefSerializer(source="change_type", read_only=True)
    requested_by = serializers.CharField(source="requester", read_only=True)
    source_system = serializers.SlugRelatedField(slug_field="name", read_only=True)
    released_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    affected_items = AffectedItemSerializer(many=True, read_only=True)
    approvals = ApprovalSerializer(many=True, read_only=True)

    class Meta:
        model = ChangeOrder
        fields = ["id", "number", "title", "description", "change_reason", "type", "priority",
                  "status", "requested_by", "source_system", "review_round", "created_at",
                  "submitted_at", "approved_at", "released_at", "released_by", "cancelled_at",
                  "affected_items", "approvals"]


class ChangeOrderDetailSerializer(ChangeOrderSerializer):
    events = ChangeOrderEventSerializer(many=True, read_only=True)

    class Meta(ChangeOrderSerializer.Meta):
        fields = [*ChangeOrderSerializer.Meta.fields, "events"]


class ApprovalStageSerializer(serializers.ModelSerializer):
    groups = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)

    class Meta:
        model = ApprovalStage
        fields = ["id", "order", "name", "required", "groups"]


class ChangeOrderTypeSerializer(serializers.ModelSerializer):
    stages = ApprovalStageSerializer(many=True, read_only=True)

    class Meta:
        model = ChangeOrderType
        fields = ["id", "code", "name", "description", "stages"]


# --- The PLM's push --------------------------------------------------------------------------


class StrictSerializer(serializers.Serializer):
    """Refuses unknown fields: a typo would otherwise drop data silently."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {key: [serializers.ErrorDetail(
                        f"Unknown field; known: {', '.join(sorted(self.fields))}.",
                        code="unknown_field")] for key in unknown})
        return super().to_internal_value(data)


class StrictEffectivitySerializer(StrictSerializer, EffectivitySerializer):
    pass


class RevisionLabelField(serializers.RegexField):
    def __init__(self, **kwargs):
        super().__init__(REVISION_LABEL_PATTERN, max_length=16, required=False, allow_null=True,
                         default=None, **kwargs)


class ItemPushSerializer(StrictSerializer):
    part = serializers.CharField(max_length=64, help_text="Part number.")
    kind = serializers.ChoiceField(choices=ChangeKind.choices)
    from_revision = RevisionLabelField(help_text="The released revision it changes (not for "
                                                 "add).")
    to_revision = RevisionLabelField(help_text="The new revision, a draft until the change "
                                               "order is released (not for remove).")
    effectivity = StrictEffectivitySerializer(required=False, allow_null=True, default=None)
    ebom = serializers.DictField(
        required=False, allow_null=True, default=None,
        help_text="The new revision's eBOM as POST /api/v1/bom/eboms/ takes it (`lines` nested "
                  "or `rows` flat, without part, revision, release and reason).")
    stock_disposition = serializers.ChoiceField(choices=Disposition.choices, required=False,
                                                allow_blank=True, default="")
    wip_disposition = serializers.ChoiceField(choices=Disposition.choices, required=False,
                                              allow_blank=True, default="")
    open_orders_disposition = serializers.ChoiceField(choices=Disposition.choices,
                                                      required=False, allow_blank=True,
                                                      default="")
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class PlmApprovalSerializer(StrictSerializer):
    stage = serializers.CharField(max_length=100, help_text="The stage's name (matched with "
                                                            "the type's stages).")
    decision = serializers.ChoiceField(choices=Decision.choices, default=Decision.APPROVED)
    by = serializers.CharField(max_length=200, help_text="The approver as the PLM names them.")
    at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    comment = serializers.CharField(required=False, allow_blank=True, default="")


class ChangeOrderPushSerializer(StrictSerializer):
    number = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$", max_length=40)
    title = serializers.CharField(max_length=200)
    type = serializers.SlugField(max_length=40, help_text="A change order type's code.")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    change_reason = serializers.CharField(required=False, allow_blank=True, default="",
                                          help_text="Why the change is needed.")
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    requested_by = serializers.CharField(required=False, allow_blank=True, default="",
                                         max_length=200)
    submit = serializers.BooleanField(default=False, help_text="Submit for review in Thread "
                                                               "on arrival.")
    affected_items = ItemPushSerializer(many=True, allow_empty=False)
    approvals = PlmApprovalSerializer(many=True, required=False, default=list,
                                      help_text="Only from a PLM that approves in the PLM.")
    reason = ReasonField()

    def to_push(self) -> services.ChangeOrderPush:
        data = self.validated_data
        return services.ChangeOrderPush(
            number=data["number"], title=data["title"], change_type=data["type"],
            description=data["description"], change_reason=data["change_reason"],
            priority=data["priority"], requested_by=data["requested_by"], submit=data["submit"],
            affected_items=[services.ItemPush(
                part=item["part"], kind=item["kind"], from_revision=item["from_revision"],
                to_revision=item["to_revision"], ebom=item["ebom"], notes=item["notes"],
                effectivity=EffectivityInput(**item["effectivity"]) if item["effectivity"]
                else None,
                stock_disposition=item["stock_disposition"],
                wip_disposition=item["wip_disposition"],
                open_orders_disposition=item["open_orders_disposition"])
                for item in data["affected_items"]],
            approvals=[services.PlmApproval(**approval) for approval in data["approvals"]])


# --- Actions ---------------------------------------------------------------------------------


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class ApproveSerializer(serializers.Serializer):
    stage = serializers.CharField(max_length=100, help_text="The stage's id or name.")
    comment = serializers.CharField(max_length=2000, help_text="Recorded with the approval.")


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
    stage = serializers.CharField(max_length=100, required=False,
                                  help_text="The stage rejecting (id or name), if any.")


# --- Diffs -----------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.ANY)
class PlainValueField(serializers.Field):
    """Any diff value as JSON, a Decimal as an exact string."""

    def to_representation(self, value):
        if isinstance(value, Decimal):
            return format(value.normalize(), "f")
        if isinstance(value, tuple):
            return [self.to_representation(v) for v in value]
        return value


class FieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    old = PlainValueField()
    new = PlainValueField()


class EBomLineDataSerializer(serializers.Serializer):
    find_number = serializers.IntegerField()
    part = serializers.CharField()
    quantity = PlainValueField()
    unit = serializers.CharField()
    item_type = serializers.CharField()
    reference_designators = serializers.ListField(child=serializers.CharField())
    attributes = serializers.DictField()


class EBomDiffEntrySerializer(serializers.Serializer):
    kind = serializers.CharField()
    old = EBomLineDataSerializer(allow_null=True)
    new = EBomLineDataSerializer(allow_null=True)
    changes = FieldChangeSerializer(many=True)


class EBomDiffSerializer(serializers.Serializer):
    summary = serializers.DictField(child=serializers.IntegerField())
    lines = EBomDiffEntrySerializer(source="entries", many=True)


class MBomLineDataSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    part = serializers.CharField()
    quantity = PlainValueField()
    unit = serializers.CharField()
    item_type = serializers.CharField()
    make_or_buy = serializers.CharField()
    operation = serializers.CharField()
    substitutes_for = serializers.CharField(allow_null=True)


class MBomDiffEntrySerializer(serializers.Serializer):
    kind = serializers.CharField()
    old = MBomLineDataSerializer(allow_null=True)
    new = MBomLineDataSerializer(allow_null=True)
    changes = FieldChangeSerializer(many=True)


class AssemblyDiffSerializer(serializers.Serializer):
    part = serializers.CharField()
    kind = serializers.CharField()
    summary = serializers.DictField(child=serializers.IntegerField(), source="diff.summary")
    lines = MBomDiffEntrySerializer(source="diff.entries", many=True)


class PlantPreviewSerializer(serializers.Serializer):
    plant = serializers.CharField(source="plant.code")
    rule_set_version = serializers.IntegerField(source="version.number", allow_null=True,
                                                default=None)
    problem = serializers.CharField()
    warnings = serializers.ListField(child=serializers.CharField())
    assemblies = AssemblyDiffSerializer(many=True)


class ItemDiffSerializer(serializers.Serializer):
    affected_item = AffectedItemSerializer(source="item")
    ebom = EBomDiffSerializer()
    mbom = PlantPreviewSerializer(source="plants", many=True,
                                  help_text="Per plant: the mBOM diff its current published "
                                            "rules would produce. Nothing is stored.")


class ChangeOrderDiffSerializer(serializers.Serializer):
    change_order = serializers.CharField(source="number")
    status = serializers.ChoiceField(choices=ChangeOrderStatus.choices)
    items = ItemDiffSerializer(many=True)
