"""Filters of the mBOM API."""

import django_filters

from thread.bom.models import MBom, MBomVersion


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
