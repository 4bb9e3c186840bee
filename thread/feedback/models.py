"""What the shop floor reports back (docs/feedback.md): operation results and quality events as
the MES sent them, and their roll-ups per design revision, plant, operation and work center in
daily buckets.

Results are facts: recorded once, never edited (who, when, from which system and inbound
message, and why, are on the row; the raw body is the inbound message). A correction is a new
result that names the one it corrects, and the roll-ups take the old one out and the new one in.
Quality events change only by a person's acknowledgement, which simple-history records."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from .choices import AlertKind, QualityDisposition, QualityEventStatus

QUANTITY = {"max_digits": 20, "decimal_places": 6}
MINUTES = {"max_digits": 14, "decimal_places": 4}
# Sums of values with at most 6 decimals, and of their squares (12): exact in the database, so
# a roll-up kept incrementally equals one recomputed from the results, digit for digit.
SUM = {"max_digits": 40, "decimal_places": 6, "default": 0}
SQUARES = {"max_digits": 48, "decimal_places": 12, "default": 0}


class OperationResult(models.Model):
    """One report of the MES on one operation of one work order."""

    work_order = models.ForeignKey("orders.WorkOrder", on_delete=models.PROTECT,
                                   related_name="results")
    operation = models.ForeignKey("orders.WorkOrderOperation", on_delete=models.PROTECT,
                                  related_name="results")
    system = models.ForeignKey("flows.ExternalSystem", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+",
                               help_text="The MES that reported it (blank: a person).")
    inbound_message = models.ForeignKey("flows.InboundMessage", null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")
    report_id = models.CharField(max_length=100, blank=True,
                                 help_text="The MES's id of this report, where it gives one.")
    # Where it counts, copied from the work order when recorded (the roll-up's keys).
    plant = models.ForeignKey("catalog.Plant", on_delete=models.PROTECT, related_name="+")
    revision = models.ForeignKey("catalog.PartRevision", on_delete=models.PROTECT,
                                 related_name="operation_results",
                                 help_text="The design revision the work order was built from.")
    operation_code = models.CharField(max_length=40)
    work_center = models.ForeignKey("orders.WorkCenter", on_delete=models.PROTECT,
                                    related_name="+")
    good_quantity = models.DecimalField(help_text="In the part's base unit.", **QUANTITY)
    scrap_quantity = models.DecimalField(default=0, **QUANTITY)
    scrap_reason = models.CharField(max_length=40, blank=True)
    setup_minutes = models.DecimalField(null=True, blank=True, **MINUTES)
    run_minutes = models.DecimalField(null=True, blank=True, help_text="For the whole quantity.",
                                      **MINUTES)
    # The standard as the work order carried it, for actual-vs-standard.
    standard_setup_minutes = models.DecimalField(**MINUTES)
    standard_run_minutes = models.DecimalField(help_text="Per unit.", **MINUTES)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    day = models.DateField(help_text="The plant-local day it counts on (end, else start, else "
                                     "when recorded).")
    operation_completed = models.BooleanField(default=False)
    serial = models.CharField(max_length=100, blank=True)
    lot = models.CharField(max_length=100, blank=True)
    corrects = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="corrected_by",
                                    help_text="The earlier result this one replaces.")
    recorded_at = models.DateTimeField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["work_order", "operation"], name="result_work_order"),
                   models.Index(fields=["revision", "plant", "day"], name="result_revision_day")]
        constraints = [
            models.UniqueConstraint(fields=["system", "report_id"], condition=~Q(report_id=""),
                                    name="result_report_once"),
            models.CheckConstraint(condition=Q(good_quantity__gte=0, scrap_quantity__gte=0),
                                   name="result_quantities_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.work_order.number} op {self.operation_code}: {self.good_quantity} good"


class QualityEvent(models.Model):
    """A defect the MES (or a person) recorded: what, how many, where, and what was decided."""

    event_id = models.CharField(max_length=100, blank=True,
                                help_text="The MES's id of the event, where it gives one.")
    system = models.ForeignKey("flows.ExternalSystem", null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    inbound_message = models.ForeignKey("flows.InboundMessage", null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")
    work_order = models.ForeignKey("orders.WorkOrder", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="quality_events")
    operation = models.ForeignKey("orders.WorkOrderOperation", null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="quality_events")
    plant = models.ForeignKey("catalog.Plant", on_delete=models.PROTECT, related_name="+")
    revision = models.ForeignKey("catalog.PartRevision", on_delete=models.PROTECT,
                                 related_name="quality_events")
    operation_code = models.CharField(max_length=40, blank=True)
    work_center_code = models.CharField(max_length=40, blank=True)
    defect_code = models.CharField(max_length=40)
    quantity = models.DecimalField(help_text="In the part's base unit.", **QUANTITY)
    description = models.TextField(blank=True)
    disposition = models.CharField(max_length=20, choices=QualityDisposition.choices,
                                   default=QualityDisposition.PENDING)
    occurred_at = models.DateTimeField()
    day = models.DateField()
    status = models.CharField(max_length=12, choices=QualityEventStatus.choices,
                              default=QualityEventStatus.OPEN)
    recorded_at = models.DateTimeField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        permissions = [("acknowledge_qualityevent", "Can acknowledge quality events")]
        indexes = [models.Index(fields=["revision", "plant", "day"], name="quality_revision_day")]
        constraints = [
            models.UniqueConstraint(fields=["system", "event_id"], condition=~Q(event_id=""),
                                    name="quality_event_once"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="quality_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.defect_code}: {self.quantity} on {self.revision}"


class OrderProgress(models.Model):
    """What an ERP that tracks build progress (InvenTree) said of a production order when Thread
    read it: a fact, recorded only when it differs from the order's previous reading, never
    edited. Order-level: it names no operation, so it stays out of the per-operation roll-ups
    (where a plant's MES reports the same units by operation: docs/feedback.md)."""

    production_order = models.ForeignKey("orders.ProductionOrder", on_delete=models.PROTECT,
                                         related_name="progress_readings")
    system = models.ForeignKey("flows.ExternalSystem", on_delete=models.PROTECT,
                               related_name="+", help_text="The ERP that reported it.")
    plant = models.ForeignKey("catalog.Plant", on_delete=models.PROTECT, related_name="+")
    revision = models.ForeignKey("catalog.PartRevision", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="order_progress",
                                 help_text="The order's revision when read.")
    completed_quantity = models.DecimalField(help_text="In the part's base unit.", **QUANTITY)
    scrapped_quantity = models.DecimalField(null=True, blank=True,
                                            help_text="Blank: the ERP keeps none.", **QUANTITY)
    read_at = models.DateTimeField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-read_at", "-id"]
        verbose_name = "order progress reading"
        indexes = [models.Index(fields=["production_order", "-read_at"],
                                name="progress_order_latest")]
        constraints = [
            models.CheckConstraint(condition=Q(completed_quantity__gte=0)
                                   & (Q(scrapped_quantity__isnull=True)
                                      | Q(scrapped_quantity__gte=0)),
                                   name="progress_quantities_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.production_order.number}: {self.completed_quantity} completed"


class RollupDay(models.Model):
    """One plant-local day of one design revision's operation at one work center: what the shop
    floor made of it. Kept current in the transaction of each result and quality event; any
    window is the sum of its days. Times as sums and sums of squares, so mean and spread come
    out exactly, and a correction takes a result out as exactly as it went in."""

    plant = models.ForeignKey("catalog.Plant", on_delete=models.PROTECT, related_name="+")
    revision = models.ForeignKey("catalog.PartRevision", on_delete=models.PROTECT,
                                 related_name="rollup_days")
    operation_code = models.CharField(max_length=40, blank=True,
                                      help_text="Blank: quality events with no operation.")
    work_center_code = models.CharField(max_length=40, blank=True)
    day = models.DateField()
    results = models.IntegerField(default=0)
    good_quantity = models.DecimalField(**SUM)
    scrap_quantity = models.DecimalField(**SUM)
    scrap_by_reason = models.JSONField(default=dict, blank=True,
                                       help_text='{"reason": "quantity", …}')
    setup_count = models.IntegerField(default=0)
    setup_sum = models.DecimalField(**SUM)
    setup_squares = models.DecimalField(**SQUARES)
    setup_standard_sum = models.DecimalField(**SUM)
    run_count = models.IntegerField(default=0, help_text="Results with a run time and a quantity.")
    run_per_unit_sum = models.DecimalField(**SUM)
    run_per_unit_squares = models.DecimalField(**SQUARES)
    run_standard_sum = models.DecimalField(**SUM)
    quality_events = models.IntegerField(default=0)
    defects = models.JSONField(default=dict, blank=True, help_text='{"defect code": "quantity"}')

    class Meta:
        ordering = ["-day", "plant", "revision", "operation_code", "work_center_code"]
        verbose_name = "roll-up day"
        constraints = [
            models.UniqueConstraint(fields=["plant", "revision", "operation_code",
                                            "work_center_code", "day"], name="rollup_day_once"),
        ]

    def __str__(self) -> str:
        return f"{self.revision} @ {self.plant_id} {self.operation_code} {self.day}"


class FeedbackThreshold(models.Model):
    """When engineering must hear of a revision at once: first-pass yield under a target, run
    time above its standard by a factor, over the last days at a plant. Per part and plant, or a
    plant's default (no part). Analysts edit them; history keeps who, when and why."""

    plant = models.ForeignKey("catalog.Plant", on_delete=models.CASCADE, related_name="+")
    part = models.ForeignKey("catalog.Part", null=True, blank=True, on_delete=models.CASCADE,
                             related_name="+", help_text="Blank: the plant's default.")
    min_first_pass_yield = models.DecimalField(
        max_digits=7, decimal_places=6, null=True, blank=True,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(1))],
        help_text="e.g. 0.95; blank: no yield alert.")
    max_run_vs_standard = models.DecimalField(
        max_digits=8, decimal_places=4, null=True, blank=True,
        validators=[MinValueValidator(Decimal(1))],
        help_text="Actual run time over standard, e.g. 1.25; blank: no run-time alert.")
    window_days = models.PositiveIntegerField(
        default=7, validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text="Plant-local days up to the result's day that the figures cover.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["plant", "part"]
        verbose_name = "feedback threshold"
        constraints = [
            models.UniqueConstraint(fields=["plant", "part"], name="threshold_per_part"),
            models.UniqueConstraint(fields=["plant"], condition=Q(part__isnull=True),
                                    name="threshold_plant_default"),
        ]

    def __str__(self) -> str:
        return f"{self.plant_id}: {self.part or 'plant default'}"


class FeedbackAlert(models.Model):
    """A threshold crossed, as engineering was told. A yield or run-time alert stays raised
    until the figures are back within the threshold (then it clears, and a later crossing is a
    new alert); a new defect code is told once per revision."""

    kind = models.CharField(max_length=12, choices=AlertKind.choices)
    plant = models.ForeignKey("catalog.Plant", on_delete=models.PROTECT, related_name="+")
    revision = models.ForeignKey("catalog.PartRevision", on_delete=models.PROTECT,
                                 related_name="feedback_alerts")
    operation_code = models.CharField(max_length=40, blank=True)
    defect_code = models.CharField(max_length=40, blank=True)
    measured = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    threshold = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    window_start = models.DateField(null=True, blank=True)
    window_end = models.DateField(null=True, blank=True)
    detail = models.TextField()
    result = models.ForeignKey(OperationResult, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+", help_text="The result that crossed it.")
    quality_event = models.ForeignKey(QualityEvent, null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="+")
    raised_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "plant", "revision", "operation_code"],
                condition=Q(cleared_at__isnull=True) & ~Q(kind=AlertKind.NEW_DEFECT),
                name="feedback_alert_one_open"),
            models.UniqueConstraint(fields=["revision", "defect_code"],
                                    condition=Q(kind=AlertKind.NEW_DEFECT),
                                    name="feedback_alert_defect_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.revision} @ {self.plant_id}"


class FeedbackDigest(models.Model):
    """One revision's digest for one plant and period, as sent to the PLM: recorded before it is
    sent, once per (revision, plant, period end), so a digest task run twice sends it once."""

    plant = models.ForeignKey("catalog.Plant", on_delete=models.PROTECT, related_name="+")
    revision = models.ForeignKey("catalog.PartRevision", on_delete=models.PROTECT,
                                 related_name="feedback_digests")
    period_start = models.DateField()
    period_end = models.DateField(help_text="Inclusive, plant-local.")
    figures = models.JSONField(help_text="What was sent: the period's figures, per operation.")
    sent_at = models.DateTimeField()

    class Meta:
        ordering = ["-period_end", "plant", "revision"]
        constraints = [models.UniqueConstraint(fields=["plant", "revision", "period_end"],
                                               name="feedback_digest_once")]

    def __str__(self) -> str:
        return f"{self.revision} @ {self.plant_id} to {self.period_end}"
