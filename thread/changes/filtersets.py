import django_filters

from .choices import ChangeOrderStatus
from .models import ChangeOrder


class ChangeOrderFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=ChangeOrderStatus.choices)
    type = django_filters.CharFilter(field_name="change_type__code",
                                     help_text="A change order type's code.")
    part = django_filters.CharFilter(field_name="affected_items__part__number", distinct=True,
                                     help_text="Part number of an affected item.")
    part_id = django_filters.NumberFilter(field_name="affected_items__part_id", distinct=True)
    number = django_filters.CharFilter()

    class Meta:
        model = ChangeOrder
        fields = ["status", "type", "part", "part_id", "number", "priority"]
