"""Impact API shapes: a change order's impact (where-used, the open orders it hits, the mBOMs that
will change) and the flags its release raises on orders."""

from rest_framework import serializers

from thread.catalog.api.serializers import PartBriefSerializer
from thread.orders.api.serializers import QUANTITY

from ..choices import ImpactKind
from ..models import ImpactFlag


class OrderRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()


class ImpactFlagSerializer(serializers.ModelSerializer):
    change_order = OrderRefSerializer(read_only=True)
    purchase_order = OrderRefSerializer(read_only=True, allow_null=True)
    production_order = OrderRefSerializer(read_only=True, allow_null=True)
    part = PartBriefSerializer(read_only=True)
    raised_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    acknowledged_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    resolved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ImpactFlag
        fields = ["id", "change_order", "purchase_order", "production_order", "kind", "part",
                  "summary", "details", "status", "raised_at", "raised_by", "acknowledged_at",
                  "acknowledged_by", "acknowledge_note", "resolved_at", "resolved_by",
                  "resolution_note"]


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, help_text="What was done, or will be: "
                                                            "recorded with your name.")


class AgainstSerializer(serializers.Serializer):
    timing = serializers.ChoiceField(choices=["before", "on_or_after", "unknown"])
    days = serializers.IntegerField(allow_null=True, help_text="After the effectivity date "
                                                               "(negative: before).")


class AncestorSerializer(serializers.Serializer):
    part_id = serializers.IntegerField()
    part = serializers.CharField()
    depth = serializers.IntegerField()
    top_level = serializers.BooleanField()
    in_ebom = serializers.BooleanField()
    plants = serializers.ListField(child=serializers.CharField())


class WhereUsedSerializer(serializers.Serializer):
    ancestors = AncestorSerializer(many=True)
    top_level = serializers.ListField(child=serializers.CharField())
    paths = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))
    path_count = serializers.IntegerField()
    truncated = serializers.BooleanField()


class ComponentChangeSerializer(serializers.Serializer):
    part = serializers.CharField()
    kind = serializers.ChoiceField(choices=ImpactKind.choices)
    old_quantity = serializers.DecimalField(max_digits=30, decimal_places=6)
    new_quantity = serializers.DecimalField(max_digits=30, decimal_places=6, allow_null=True)
    unit = serializers.CharField()


class OrderHitSerializer(serializers.Serializer):
    """What every open order a change hits says about itself."""

    order_id = serializers.IntegerField()
    number = serializers.CharField()
    system = serializers.CharField()
    plant = serializers.CharField()
    status = serializers.CharField()
    part = serializers.CharField()
    kind = serializers.ChoiceField(choices=ImpactKind.choices)
    quantity = serializers.DecimalField(**QUANTITY)
    unit = serializers.CharField()
    against = AgainstSerializer()
    summary = serializers.CharField()


class PurchaseOrderHitSerializer(OrderHitSerializer):
    supplier = serializers.CharField()
    line_number = serializers.IntegerField()
    open_quantity = serializers.DecimalField(**QUANTITY)
    due_date = serializers.DateField()


class ProductionOrderHitSerializer(OrderHitSerializer):
    planned_start = serializers.DateTimeField()
    planned_end = serializers.DateTimeField()
    start_date = serializers.DateField(help_text="The planned start's plant-local date.")
    revision = serializers.CharField(allow_null=True, help_text="As the order resolves now.")
    mbom_version_id = serializers.IntegerField(allow_null=True)


class MBomHitSerializer(serializers.Serializer):
    plant = serializers.CharField()
    part = serializers.CharField()
    revision = serializers.CharField()
    version_id = serializers.IntegerField()
    version_number = serializers.IntegerField()
    via = serializers.ListField(child=serializers.CharField(),
                                help_text="Parts on the way built into it; empty: the changed "
                                          "revision's own mBOM.")


class ItemImpactSerializer(serializers.Serializer):
    item_id = serializers.IntegerField()
    part = serializers.CharField()
    kind = serializers.CharField()
    from_revision = serializers.CharField(allow_null=True)
    to_revision = serializers.CharField(allow_null=True)
    effectivity = serializers.CharField()
    effective_from = serializers.DateField(allow_null=True)
    components = ComponentChangeSerializer(many=True)
    where_used = WhereUsedSerializer()
    purchase_orders = PurchaseOrderHitSerializer(many=True)
    production_orders = ProductionOrderHitSerializer(many=True)
    mboms = MBomHitSerializer(many=True)


class ImpactSerializer(serializers.Serializer):
    change_order_id = serializers.IntegerField()
    number = serializers.CharField()
    status = serializers.CharField()
    computed_at = serializers.DateTimeField()
    items = ItemImpactSerializer(many=True)


class ImpactQuerySerializer(serializers.Serializer):
    change_order = serializers.CharField(help_text="The change order's id or number.")
