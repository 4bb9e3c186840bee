import django_filters

from .choices import ChangeOrderStatus, ImpactFlagStatus, ImpactKind
from .models import ChangeOrder, ImpactFlag


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


class ImpactFlagFilterSet(django_filters.FilterSet):
    change_order = django_filters.CharFilter(field_name="change_order__number",
                                             help_text="Change order number.")
    change_order_id = django_filters.NumberFilter()
    status = django_filters.MultipleChoiceFilter(choices=ImpactFlagStatus.choices)
    kind = django_filters.ChoiceFilter(choices=ImpactKind.choices)
    purchase_order_id = django_filters.NumberFilter()
    production_order_id = django_filters.NumberFilter()

    class Meta:
        model = ImpactFlag
        fields = ["change_order", "change_order_id", "status", "kind", "purchase_order_id",
                  "production_order_id"]
