from datetime import date, datetime

from django.utils.dateparse import parse_date, parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from thread.catalog.api.serializers import PartBriefSerializer, QuantityField, ReasonField

from .. import services
from ..choices import ProductionOrderStatus, PurchaseOrderStatus
from ..models import ProductionOrder, PurchaseOrder, PurchaseOrderLine

QUANTITY = {"max_digits": 20, "decimal_places": 6}
UNIT_HELP = ("Unit as written: code, name, plural or synonym (\"PCE\", \"litres\"), an analyst's "
             "alias or the ERP's own code (its unit map); stored as Thread's unit.")

# --- Reading ---------------------------------------------------------------------------------


class PurchaseOrderLineSerializer(serializers.ModelSerializer):
    part = PartBriefSerializer(read_only=True)
    unit = serializers.SlugRelatedField(slug_field="code", read_only=True)
    open_quantity = serializers.DecimalField(read_only=True, **QUANTITY)

    class Meta:
        model = PurchaseOrderLine
        fields = ["line_number", "part", "quantity", "received_quantity", "open_quantity",
                  "unit", "due_date", "status"]


class PurchaseOrderSerializer(serializers.ModelSerializer):
    system = serializers.SlugRelatedField(slug_field="name", read_only=True)
    plant = serializers.SlugRelatedField(slug_field="code", read_only=True)
    lines = PurchaseOrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = PurchaseOrder
        fields = ["id", "system", "number", "supplier", "plant", "status", "erp_status",
                  "order_date", "lines", "created_at", "updated_at"]


class ResolvedRevisionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField()


class ResolvedMBomVersionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField()


class ProductionOrderSerializer(serializers.ModelSerializer):
    system = serializers.SlugRelatedField(slug_field="name", read_only=True)
    plant = serializers.SlugRelatedField(slug_field="code", read_only=True)
    part = PartBriefSerializer(read_only=True)
    unit = serializers.SlugRelatedField(slug_field="code", read_only=True)
    revision = ResolvedRevisionSerializer(read_only=True, allow_null=True)
    mbom_version = ResolvedMBomVersionSerializer(read_only=True, allow_null=True)

    class Meta:
        model = ProductionOrder
        fields = ["id", "system", "number", "part", "plant", "quantity", "unit",
                  "planned_start", "planned_end", "status", "erp_status",
                  "revision", "mbom_version",
                  "resolved_as_of", "resolution_note", "created_at", "updated_at"]


class OrderRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()


# --- Pushing ---------------------------------------------------------------------------------


class PurchaseOrderLinePushSerializer(serializers.Serializer):
    line_number = serializers.IntegerField(min_value=1)
    part = serializers.CharField(max_length=64, help_text="Part number.")
    quantity = QuantityField()
    unit = serializers.CharField(max_length=64, help_text=UNIT_HELP)
    due_date = serializers.DateField(help_text="Plant-local delivery date.")
    received_quantity = serializers.DecimalField(required=False, default=0, **QUANTITY)
    status = serializers.ChoiceField(choices=PurchaseOrderStatus.choices,
                                     default=PurchaseOrderStatus.OPEN)


class PurchaseOrderPushSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=64, help_text="The ERP's order number.")
    supplier = serializers.CharField(max_length=200)
    plant = serializers.CharField(max_length=16, help_text="Plant code.")
    status = serializers.ChoiceField(choices=PurchaseOrderStatus.choices,
                                     help_text="Thread's status; the ERP's own in erp_status.")
    erp_status = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                       default="")
    order_date = serializers.DateField(required=False, allow_null=True, default=None)
    lines = PurchaseOrderLinePushSerializer(many=True, allow_empty=False)


class PurchaseOrdersPushSerializer(serializers.Serializer):
    orders = PurchaseOrderPushSerializer(many=True, allow_empty=False)
    reason = ReasonField()

    def to_inputs(self) -> list[services.PurchaseOrderInput]:
        return [services.PurchaseOrderInput(
            **{**order, "lines": [services.PurchaseOrderLineInput(**line)
                                  for line in order["lines"]]})
            for order in self.validated_data["orders"]]


@extend_schema_field(OpenApiTypes.DATETIME)
class InstantField(serializers.Field):
    """An ISO 8601 time with its UTC offset, or a date (00:00 at the order's plant). A time
    without an offset is passed on for the service to refuse with its pointer."""

    def to_internal_value(self, data) -> datetime | date:
        if isinstance(data, str):
            try:
                # A date first: parse_datetime would read "2027-01-20" as a naive midnight.
                parsed = parse_date(data) or parse_datetime(data)
            except ValueError:
                parsed = None
            if parsed is not None:
                return parsed
        self.fail("invalid")

    default_error_messages = {"invalid": "An ISO 8601 date, or a time with its UTC offset."}


class ProductionOrderPushSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=64, help_text="The ERP's order number.")
    part = serializers.CharField(max_length=64, help_text="Part number.")
    plant = serializers.CharField(max_length=16, help_text="Plant code.")
    quantity = QuantityField()
    unit = serializers.CharField(max_length=64, help_text=UNIT_HELP)
    planned_start = InstantField()
    planned_end = InstantField()
    status = serializers.ChoiceField(choices=ProductionOrderStatus.choices,
                                     default=ProductionOrderStatus.PLANNED)
    erp_status = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                       default="")


class ProductionOrdersPushSerializer(serializers.Serializer):
    orders = ProductionOrderPushSerializer(many=True, allow_empty=False)
    reason = ReasonField()

    def to_inputs(self) -> list[services.ProductionOrderInput]:
        return [services.ProductionOrderInput(**order) for order in self.validated_data["orders"]]


class UpsertedSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    number = serializers.CharField()


class UpsertResultSerializer(serializers.Serializer):
    created = UpsertedSerializer(many=True)
    updated = UpsertedSerializer(many=True)
    unchanged = UpsertedSerializer(many=True)


class PurchaseStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=PurchaseOrderStatus.choices)
    erp_status = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                       default="")
    reason = ReasonField()


class ProductionStatusSerializer(PurchaseStatusSerializer):
    status = serializers.ChoiceField(choices=ProductionOrderStatus.choices)
