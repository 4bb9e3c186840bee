import django_filters

from .drift_selectors import drift_findings_matching
from .models import DriftFinding, OutboundMessage


class OutboundMessageFilterSet(django_filters.FilterSet):
    system_id = django_filters.NumberFilter()
    system = django_filters.CharFilter(field_name="system__name")

    class Meta:
        model = OutboundMessage
        fields = ["system_id", "system", "topic", "status", "ordering_key", "correlation_id"]


class DriftFindingFilterSet(django_filters.FilterSet):
    system_id = django_filters.NumberFilter()
    system = django_filters.CharFilter(field_name="system__name")
    object = django_filters.CharFilter(
        method="filter_object", help_text="Part of the object's key or of the object inside it "
                                          "(BK-100 finds every finding of the bike).")

    class Meta:
        model = DriftFinding
        fields = ["system_id", "system", "status", "topic", "object_key", "object"]

    def filter_object(self, queryset, name, value):
        return drift_findings_matching(queryset, value)
