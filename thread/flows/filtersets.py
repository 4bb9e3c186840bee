import django_filters

from .models import OutboundMessage


class OutboundMessageFilterSet(django_filters.FilterSet):
    system_id = django_filters.NumberFilter()
    system = django_filters.CharFilter(field_name="system__name")

    class Meta:
        model = OutboundMessage
        fields = ["system_id", "system", "topic", "status", "ordering_key", "correlation_id"]
