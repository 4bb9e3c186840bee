import django_filters

from .models import OperationResult, OrderProgress, QualityEvent, RollupDay


class _WhereFilters(django_filters.FilterSet):
    plant = django_filters.CharFilter(field_name="plant__code", help_text="Plant code.")
    part = django_filters.CharFilter(field_name="revision__part__number", help_text="Part number.")
    revision = django_filters.CharFilter(field_name="revision__label",
                                         help_text="Revision label (with part).")
    day_from = django_filters.DateFilter(field_name="day", lookup_expr="gte",
                                         help_text="Plant-local day, inclusive.")
    day_to = django_filters.DateFilter(field_name="day", lookup_expr="lte")


class OperationResultFilterSet(_WhereFilters):
    work_order = django_filters.CharFilter(field_name="work_order__number")

    class Meta:
        model = OperationResult
        fields = ["plant", "part", "revision", "work_order", "operation_code", "day_from",
                  "day_to"]


class QualityEventFilterSet(_WhereFilters):
    work_order = django_filters.CharFilter(field_name="work_order__number")

    class Meta:
        model = QualityEvent
        fields = ["plant", "part", "revision", "work_order", "defect_code", "status",
                  "day_from", "day_to"]


class RollupDayFilterSet(_WhereFilters):
    class Meta:
        model = RollupDay
        fields = ["plant", "part", "revision", "operation_code", "work_center_code", "day_from",
                  "day_to"]


class OrderProgressFilterSet(django_filters.FilterSet):
    production_order = django_filters.CharFilter(field_name="production_order__number",
                                                 help_text="The ERP's order number.")
    system = django_filters.CharFilter(field_name="system__name", help_text="The ERP's name.")
    plant = django_filters.CharFilter(field_name="plant__code", help_text="Plant code.")
    part = django_filters.CharFilter(field_name="production_order__part__number",
                                     help_text="Part number.")

    class Meta:
        model = OrderProgress
        fields = ["production_order", "system", "plant", "part"]
