"""Filters of the eBOM API."""

import django_filters

from thread.bom.models import EBom


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
