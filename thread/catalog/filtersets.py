import django_filters

from .models import Part, PartRevision, Plant, SystemUnitCode, UnitAlias, UnitOfMeasure


class PartFilterSet(django_filters.FilterSet):
    number = django_filters.CharFilter()
    number_prefix = django_filters.CharFilter(field_name="number", lookup_expr="startswith")
    base_unit = django_filters.CharFilter(field_name="base_unit__code")

    class Meta:
        model = Part
        fields = ["number", "category", "make_or_buy", "lifecycle_state", "base_unit"]


class PartRevisionFilterSet(django_filters.FilterSet):
    part_id = django_filters.NumberFilter()
    part = django_filters.CharFilter(field_name="part__number")

    class Meta:
        model = PartRevision
        fields = ["part_id", "part", "label", "status"]


class UnitFilterSet(django_filters.FilterSet):
    class Meta:
        model = UnitOfMeasure
        fields = ["code", "dimension"]


class UnitAliasFilterSet(django_filters.FilterSet):
    unit = django_filters.CharFilter(field_name="unit__code")

    class Meta:
        model = UnitAlias
        fields = ["unit"]


class SystemUnitCodeFilterSet(django_filters.FilterSet):
    system_id = django_filters.NumberFilter()
    system = django_filters.CharFilter(field_name="system__name")
    unit = django_filters.CharFilter(field_name="unit__code")

    class Meta:
        model = SystemUnitCode
        fields = ["system_id", "system", "unit", "code", "outbound"]


class PlantFilterSet(django_filters.FilterSet):
    class Meta:
        model = Plant
        fields = ["code"]
