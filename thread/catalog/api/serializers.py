from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from thread.flows.permissions import calling_system

from .. import selectors
from ..choices import LifecycleState, MakeOrBuy
from ..models import (
    Part,
    PartRevision,
    Plant,
    RevisionEffectivity,
    SystemUnitCode,
    UnitAlias,
    UnitOfMeasure,
)
from ..quantities import QuantityProblem, parse_quantity
from ..units import UnitNotRecognised
from ..validators import PART_NUMBER_MAX_LENGTH, REVISION_LABEL_PATTERN, part_number_problem


class UnitSerializer(serializers.ModelSerializer):
    aliases = serializers.SlugRelatedField(
        slug_field="alias", many=True, read_only=True,
        help_text="The analysts' spellings of this unit (the built-in ones are not listed).")

    class Meta:
        model = UnitOfMeasure
        fields = ["id", "code", "name", "dimension", "factor", "aliases"]


class UnitAliasSerializer(serializers.ModelSerializer):
    unit = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = UnitAlias
        fields = ["id", "alias", "unit"]


class SystemUnitCodeSerializer(serializers.ModelSerializer):
    system = serializers.SlugRelatedField(slug_field="name", read_only=True)
    unit = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = SystemUnitCode
        fields = ["id", "system", "code", "unit", "outbound"]


@extend_schema_field(OpenApiTypes.STR)
class WrittenUnitField(serializers.Field):
    """A unit as people and systems write it (code, name, synonym, an analyst's alias, the
    calling system's own code), read as Thread's unit; shown as Thread's code."""

    default_error_messages = {"required": "A unit is required."}

    def to_internal_value(self, data) -> UnitOfMeasure:
        if not isinstance(data, str) or not data.strip():
            self.fail("required")
        request = self.context.get("request")
        catalog = selectors.unit_catalog(system=calling_system(request) if request else None)
        try:
            code = catalog.resolve(data)
        except UnitNotRecognised as exc:
            raise serializers.ValidationError(exc.detail, code=exc.code) from None
        return UnitOfMeasure.objects.get(code=code)

    def to_representation(self, value: UnitOfMeasure) -> str:
        return value.code


class PartSerializer(serializers.ModelSerializer):
    base_unit = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Part
        fields = ["id", "number", "name", "description", "category", "base_unit", "make_or_buy",
                  "lifecycle_state", "created_at", "updated_at"]


class PartBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Part
        fields = ["id", "number", "name"]


@extend_schema_field({"type": "string", "format": "decimal", "example": "2.5",
                      "description": "More than 0, at most 14 digits before the point and 6 "
                                     "after; a JSON number is read exactly too."})
class QuantityField(serializers.Field):
    """A number read exactly as a Decimal; whether it is a quantity (more than 0, in range) the
    service decides with the one parser, `thread.catalog.quantities.parse_quantity`, next to
    the push's other problems."""

    def to_internal_value(self, data):
        try:
            return parse_quantity(data)
        except QuantityProblem as exc:
            if exc.code in ("required", "not_a_number", "not_finite"):
                raise serializers.ValidationError("A decimal number.", code="invalid") from None
            return Decimal(str(data)) if not isinstance(data, Decimal) else data

    def to_representation(self, value):
        return format(value, "f")


class ReasonField(serializers.CharField):
    def __init__(self, **kwargs):
        super().__init__(required=False, allow_blank=True, max_length=2000,
                         help_text="Why: recorded in history. Defaults to the pushing system and "
                                   "its Idempotency-Key.", **kwargs)


class PartPushSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=PART_NUMBER_MAX_LENGTH + 1, trim_whitespace=False)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    category = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")
    base_unit = WrittenUnitField(help_text="Unit code, name or synonym (docs/ebom-ingest.md).")
    make_or_buy = serializers.ChoiceField(choices=MakeOrBuy.choices, default=MakeOrBuy.MAKE)
    lifecycle_state = serializers.ChoiceField(choices=LifecycleState.choices,
                                              default=LifecycleState.IN_DESIGN)
    reason = ReasonField()

    def validate_number(self, value: str) -> str:
        problem = part_number_problem(value)
        if problem:
            raise serializers.ValidationError(problem, code="invalid_part_number")
        return value


class RevisionEffectivitySerializer(serializers.ModelSerializer):
    class Meta:
        model = RevisionEffectivity
        fields = ["kind", "effective_from", "serial_from", "serial_to", "lot"]


class PartRevisionSerializer(serializers.ModelSerializer):
    part = PartBriefSerializer(read_only=True)
    released_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    effectivity = RevisionEffectivitySerializer(
        read_only=True, allow_null=True,
        help_text="When this revision applies (set by its change order); null: from its release.")

    class Meta:
        model = PartRevision
        fields = ["id", "part", "label", "status", "description", "attributes", "created_at",
                  "released_at", "released_by", "effectivity"]


class PartRevisionPushSerializer(serializers.Serializer):
    part = serializers.SlugRelatedField(slug_field="number", queryset=Part.objects.all(),
                                        help_text="Part number.")
    label = serializers.RegexField(REVISION_LABEL_PATTERN, max_length=16,
                                   help_text="Revision label, e.g. A, B, 02.")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    attributes = serializers.DictField(required=False, default=dict)
    reason = ReasonField()


class ReleaseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class PlantSerializer(serializers.ModelSerializer):
    erp_system = serializers.SlugRelatedField(slug_field="name", read_only=True)
    mes_system = serializers.SlugRelatedField(slug_field="name", read_only=True)

    class Meta:
        model = Plant
        fields = ["id", "code", "name", "time_zone", "erp_system", "mes_system"]
