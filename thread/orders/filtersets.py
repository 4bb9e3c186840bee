import django_filters

from .choices import ImpactFlagStatus, ImpactKind, ProductionOrderStatus, PurchaseOrderStatus
from .models import ImpactFlag, ProductionOrder, PurchaseOrder


class PurchaseOrderFilterSet(django_filters.FilterSet):
    plant = django_filters.CharFilter(field_name="plant__code", help_text="Plant code.")
    part = django_filters.CharFilter(field_name="lines__part__number", distinct=True,
                                     help_text="Part number on a line.")
    part_id = django_filters.NumberFilter(field_name="lines__part_id", distinct=True)
    status = django_filters.MultipleChoiceFilter(choices=PurchaseOrderStatus.choices)
    system = django_filters.CharFilter(field_name="system__name")
    number = django_filters.CharFilter()

    class Meta:
        model = PurchaseOrder
        fields = ["plant", "part", "part_id", "status", "system", "number", "supplier"]


class ProductionOrderFilterSet(django_filters.FilterSet):
    plant = django_filters.CharFilter(field_name="plant__code", help_text="Plant code.")
    part = django_filters.CharFilter(field_name="part__number", help_text="Part number.")
    part_id = django_filters.NumberFilter()
    status = django_filters.MultipleChoiceFilter(choices=ProductionOrderStatus.choices)
    system = django_filters.CharFilter(field_name="system__name")
    number = django_filters.CharFilter()

    class Meta:
        model = ProductionOrder
        fields = ["plant", "part", "part_id", "status", "system", "number"]


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
