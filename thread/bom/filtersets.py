import django_filters

from .choices import VersionStatus
from .models import EBom, MappingRuleSet, MappingRuleSetVersion, MBom, MBomVersion


class EBomFilterSet(django_filters.FilterSet):
    part = django_filters.CharFilter(field_name="revision__part__number",
                                     help_text="Part number.")
    part_id = django_filters.NumberFilter(field_name="revision__part_id")
    revision = django_filters.CharFilter(field_name="revision__label", help_text="Revision label.")
    revision_id = django_filters.NumberFilter()
    current = django_filters.BooleanFilter(field_name="is_current",
                                           help_text="true: only each revision's current eBOM.")

    class Meta:
        model = EBom
        fields = ["part", "part_id", "revision", "revision_id", "current"]


class MappingRuleSetFilterSet(django_filters.FilterSet):
    plant = django_filters.CharFilter(field_name="plant__code", help_text="Plant code.")
    plant_id = django_filters.NumberFilter()

    class Meta:
        model = MappingRuleSet
        fields = ["plant", "plant_id", "requires_approval"]


class MappingRuleSetVersionFilterSet(django_filters.FilterSet):
    plant = django_filters.CharFilter(field_name="rule_set__plant__code", help_text="Plant code.")
    plant_id = django_filters.NumberFilter(field_name="rule_set__plant_id")
    rule_set_id = django_filters.NumberFilter()
    status = django_filters.MultipleChoiceFilter(choices=VersionStatus.choices)
    number = django_filters.NumberFilter()

    class Meta:
        model = MappingRuleSetVersion
        fields = ["plant", "plant_id", "rule_set_id", "status", "number"]


class MBomFilterSet(django_filters.FilterSet):
    plant = django_filters.CharFilter(field_name="plant__code", help_text="Plant code.")
    plant_id = django_filters.NumberFilter()
    part = django_filters.CharFilter(field_name="revision__part__number",
                                     help_text="Part number.")
    part_id = django_filters.NumberFilter(field_name="revision__part_id")
    revision = django_filters.CharFilter(field_name="revision__label", help_text="Revision label.")
    revision_id = django_filters.NumberFilter()

    class Meta:
        model = MBom
        fields = ["plant", "plant_id", "part", "part_id", "revision", "revision_id"]


class MBomVersionFilterSet(django_filters.FilterSet):
    mbom_id = django_filters.NumberFilter()
    plant = django_filters.CharFilter(field_name="mbom__plant__code", help_text="Plant code.")
    plant_id = django_filters.NumberFilter(field_name="mbom__plant_id")
    part = django_filters.CharFilter(field_name="mbom__revision__part__number",
                                     help_text="Part number.")
    part_id = django_filters.NumberFilter(field_name="mbom__revision__part_id")
    revision = django_filters.CharFilter(field_name="mbom__revision__label",
                                         help_text="Revision label.")
    current = django_filters.BooleanFilter(field_name="is_current",
                                           help_text="true: only each mBOM's current version.")
    rule_set_version_id = django_filters.NumberFilter()

    class Meta:
        model = MBomVersion
        fields = ["mbom_id", "plant", "plant_id", "part", "part_id", "revision", "current",
                  "rule_set_version_id"]
