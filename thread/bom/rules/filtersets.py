"""Filters of the rule-set API."""

import django_filters

from thread.bom.choices import VersionStatus
from thread.bom.models import MappingRuleSet, MappingRuleSetVersion


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
