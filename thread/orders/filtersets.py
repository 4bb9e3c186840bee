import django_filters

from .choices import ProductionOrderStatus, PurchaseOrderStatus
from .models import ProductionOrder, PurchaseOrder


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
