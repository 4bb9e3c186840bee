from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..choices import QualityDisposition
from ..models import OperationResult, OrderProgress, QualityEvent, RollupDay
from ..rollups import Figures
from ..services import QualityEventInput, ResultInput

QUANTITY = {"max_digits": 20, "decimal_places": 6}
MINUTES = {"max_digits": 14, "decimal_places": 4, "min_value": Decimal(0)}


class OperationResultPushSerializer(serializers.Serializer):
    """One operation result of a work order, as the MES reports it."""

    work_order = serializers.CharField(max_length=64, help_text="The work order's number.")
    plant = serializers.CharField(max_length=20, required=False, default="", allow_blank=True,
                                  help_text="Only where the number is used at several plants.")
    operation = serializers.IntegerField(required=False, allow_null=True, default=None,
                                         help_text="The operation's sequence (10, 20, …).")
    operation_code = serializers.CharField(max_length=40, required=False, default="", allow_blank=True,
                                           help_text="Or its code, where it is unique.")
    report_id = serializers.CharField(max_length=100, required=False, default="", allow_blank=True,
                                      help_text="The MES's id of this report: a repeat of it is "
                                                "recorded once.")
    good_quantity = serializers.DecimalField(**QUANTITY)
    scrap_quantity = serializers.DecimalField(required=False, default=Decimal(0), **QUANTITY)
    unit = serializers.CharField(max_length=40, required=False, default="", allow_blank=True,
                                 help_text="As the MES writes it; blank: the part's base unit.")
    scrap_reason = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)
    setup_minutes = serializers.DecimalField(required=False, allow_null=True, default=None,
                                             **MINUTES)
    run_minutes = serializers.DecimalField(required=False, allow_null=True, default=None,
                                           help_text="For the whole quantity reported.",
                                           **MINUTES)
    started_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    ended_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    work_center = serializers.CharField(max_length=40, required=False, default="", allow_blank=True,
                                        help_text="Blank: the operation's work center.")
    operation_completed = serializers.BooleanField(
        required=False, default=False,
        help_text="The operation is done; on the last operation this completes the work order.")
    serial = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    lot = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    corrects = serializers.CharField(max_length=100, required=False, default="", allow_blank=True,
                                     help_text="The report_id of an earlier result this one "
                                               "replaces (its figures are taken out).")
    reason = serializers.CharField(required=False, default="", allow_blank=True,
                                   help_text="Why: recorded with the result (default: who pushed "
                                             "it, with its Idempotency-Key).")

    def to_input(self) -> ResultInput:
        data = dict(self.validated_data)
        data.pop("reason", None)
        return ResultInput(**data)


class OperationResultSerializer(serializers.ModelSerializer):
    work_order = serializers.SlugRelatedField(slug_field="number", read_only=True)
    plant = serializers.SlugRelatedField(slug_field="code", read_only=True)
    part = serializers.CharField(source="revision.part.number", read_only=True)
    revision = serializers.CharField(source="revision.label", read_only=True)
    operation = serializers.IntegerField(source="operation.sequence", read_only=True)
    work_center = serializers.SlugRelatedField(slug_field="code", read_only=True)
    corrects = serializers.SlugRelatedField(slug_field="report_id", read_only=True,
                                            allow_null=True)
    work_order_status = serializers.CharField(source="work_order.status", read_only=True)

    class Meta:
        model = OperationResult
        fields = ["id", "work_order", "work_order_status", "plant", "part", "revision",
                  "operation", "operation_code", "work_center", "report_id", "good_quantity",
                  "scrap_quantity", "scrap_reason", "setup_minutes", "run_minutes",
                  "standard_setup_minutes", "standard_run_minutes", "started_at", "ended_at",
                  "day", "operation_completed", "serial", "lot", "corrects", "recorded_at"]


class QualityEventPushSerializer(serializers.Serializer):
    """A defect found on the shop floor: of a work order (and operation), or of a part revision
    at a plant."""

    event_id = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    work_order = serializers.CharField(max_length=64, required=False, default="", allow_blank=True)
    operation = serializers.IntegerField(required=False, allow_null=True, default=None)
    operation_code = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)
    plant = serializers.CharField(max_length=20, required=False, default="", allow_blank=True)
    part = serializers.CharField(max_length=64, required=False, default="", allow_blank=True,
                                 help_text="With revision and plant, where no work order is named.")
    revision = serializers.CharField(max_length=20, required=False, default="", allow_blank=True)
    defect_code = serializers.CharField(max_length=40)
    quantity = serializers.DecimalField(**QUANTITY)
    unit = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)
    description = serializers.CharField(required=False, default="", allow_blank=True)
    disposition = serializers.ChoiceField(choices=QualityDisposition.choices, required=False,
                                          default=QualityDisposition.PENDING)
    occurred_at = serializers.DateTimeField()
    reason = serializers.CharField(required=False, default="", allow_blank=True,
                                   help_text="Why: recorded with the result (default: who pushed "
                                             "it, with its Idempotency-Key).")

    def to_input(self) -> QualityEventInput:
        data = dict(self.validated_data)
        data.pop("reason", None)
        return QualityEventInput(**data)


class QualityEventSerializer(serializers.ModelSerializer):
    work_order = serializers.SlugRelatedField(slug_field="number", read_only=True,
                                              allow_null=True)
    plant = serializers.SlugRelatedField(slug_field="code", read_only=True)
    part = serializers.CharField(source="revision.part.number", read_only=True)
    revision = serializers.CharField(source="revision.label", read_only=True)

    class Meta:
        model = QualityEvent
        fields = ["id", "event_id", "work_order", "plant", "part", "revision", "operation_code",
                  "work_center_code", "defect_code", "quantity", "description", "disposition",
                  "occurred_at", "day", "status", "recorded_at"]


class FiguresSerializer(serializers.Serializer):
    """What a day (or a window of days) says: yield, scrap, times against standard, defects."""

    results = serializers.IntegerField()
    good_quantity = serializers.DecimalField(max_digits=40, decimal_places=6)
    scrap_quantity = serializers.DecimalField(max_digits=40, decimal_places=6)
    scrap_by_reason = serializers.DictField(child=serializers.DecimalField(max_digits=40,
                                                                           decimal_places=6))
    first_pass_yield = serializers.DecimalField(max_digits=12, decimal_places=6, allow_null=True,
                                                help_text="good / (good + scrap)")
    setup_count = serializers.IntegerField()
    setup_mean = serializers.DecimalField(max_digits=20, decimal_places=6, allow_null=True,
                                          help_text="Minutes per setup reported.")
    setup_spread = serializers.DecimalField(max_digits=20, decimal_places=6, allow_null=True,
                                            help_text="Sample standard deviation, minutes.")
    setup_vs_standard = serializers.DecimalField(max_digits=20, decimal_places=6,
                                                 allow_null=True,
                                                 help_text="Actual over standard (1 = as planned).")
    run_count = serializers.IntegerField()
    run_per_unit_mean = serializers.DecimalField(max_digits=20, decimal_places=6, allow_null=True,
                                                 help_text="Minutes per unit.")
    run_per_unit_spread = serializers.DecimalField(max_digits=20, decimal_places=6,
                                                   allow_null=True)
    run_vs_standard = serializers.DecimalField(max_digits=20, decimal_places=6, allow_null=True)
    quality_events = serializers.IntegerField()
    defects = serializers.DictField(child=serializers.DecimalField(max_digits=40,
                                                                   decimal_places=6))


class RollupDaySerializer(serializers.ModelSerializer):
    plant = serializers.SlugRelatedField(slug_field="code", read_only=True)
    part = serializers.CharField(source="revision.part.number", read_only=True)
    revision = serializers.CharField(source="revision.label", read_only=True)
    figures = serializers.SerializerMethodField()

    class Meta:
        model = RollupDay
        fields = ["id", "plant", "part", "revision", "operation_code", "work_center_code", "day",
                  "figures"]

    @extend_schema_field(FiguresSerializer)
    def get_figures(self, day: RollupDay) -> dict:
        return FiguresSerializer(Figures().add(day)).data


class OrderProgressSerializer(serializers.ModelSerializer):
    production_order = serializers.CharField(source="production_order.number", read_only=True)
    system = serializers.SlugRelatedField(slug_field="name", read_only=True)
    plant = serializers.SlugRelatedField(slug_field="code", read_only=True)
    part = serializers.CharField(source="production_order.part.number", read_only=True)
    revision = serializers.CharField(source="revision.label", read_only=True, allow_null=True)

    class Meta:
        model = OrderProgress
        fields = ["id", "production_order", "system", "plant", "part", "revision",
                  "completed_quantity", "scrapped_quantity", "read_at"]


class EffectsQuerySerializer(serializers.Serializer):
    change_order = serializers.CharField(help_text="The change order's id or number.")
    days = serializers.IntegerField(min_value=1, max_value=366, default=30,
                                    help_text="The length of each window, in plant-local days.")


class WindowSerializer(serializers.Serializer):
    revision = serializers.CharField(source="revision.label")
    start = serializers.DateField()
    end = serializers.DateField()
    days = serializers.IntegerField()
    figures = FiguresSerializer()
    by_operation = serializers.DictField(child=FiguresSerializer())


class MeasureChangeSerializer(serializers.Serializer):
    before = serializers.DecimalField(max_digits=20, decimal_places=6, allow_null=True)
    after = serializers.DecimalField(max_digits=20, decimal_places=6, allow_null=True)
    change = serializers.DecimalField(
        max_digits=20, decimal_places=6, allow_null=True,
        help_text="after - before (yield, rates); after / before for times (1 = unchanged).")


class EffectSerializer(serializers.Serializer):
    part = serializers.CharField()
    plant = serializers.CharField(source="plant.code")
    comparable = serializers.BooleanField(help_text="Both windows have results.")
    before = WindowSerializer()
    after = WindowSerializer()
    changes = serializers.SerializerMethodField()

    @extend_schema_field(serializers.DictField(child=MeasureChangeSerializer()))
    def get_changes(self, effect) -> dict:
        return {name: MeasureChangeSerializer(values).data
                for name, values in effect.changes().items()}


class ChangeOrderEffectsSerializer(serializers.Serializer):
    change_order = serializers.CharField()
    released_at = serializers.DateTimeField()
    days = serializers.IntegerField()
    effects = EffectSerializer(many=True)
