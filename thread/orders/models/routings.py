"""Work centers and routings: how a part is made at a plant (docs/work-orders.md).

A routing is versioned like a mapping rule set: a draft that process engineers (or the ERP's
push) fill, then a numbered, released version that never changes — the work orders built from
it name it. Which released version applies to an order is decided by effectivity: the newest
released version whose `effective_from` is on or before the order's plant-local planned start.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from ..choices import RoutingStatus

MINUTES = {"max_digits": 14, "decimal_places": 4}


class WorkCenter(models.Model):
    """Where operations run at a plant, with its shift calendar: the start times of its shifts
    per weekday, in the plant's time zone, e.g. {"mon": ["06:00", "14:00"], "sat": ["06:00"]}
    (the shift-start batches read it)."""

    plant = models.ForeignKey("catalog.Plant", on_delete=models.PROTECT,
                              related_name="work_centers")
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=100)
    capacity_unit = models.CharField(max_length=20, default="h",
                                     help_text="What its capacity is counted in (h, pcs, kg…).")
    shift_starts = models.JSONField(default=dict, blank=True,
                                    help_text='Per weekday, shift start times in the plant\'s time '
                                              'zone: {"mon": ["06:00", "14:00"], …}.')
    active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["plant__code", "code"]
        verbose_name = "work center"
        constraints = [
            models.UniqueConstraint(fields=["plant", "code"], name="work_center_code_per_plant"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.plant.code})"


class Routing(models.Model):
    """The routing of one part at one plant: a series of versions (`versions`)."""

    part = models.ForeignKey("catalog.Part", on_delete=models.PROTECT, related_name="routings")
    plant = models.ForeignKey("catalog.Plant", on_delete=models.PROTECT, related_name="routings")
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["part__number", "plant__code"]
        constraints = [
            models.UniqueConstraint(fields=["part", "plant"], name="routing_per_part_and_plant"),
        ]

    def __str__(self) -> str:
        return f"{self.part.number} @ {self.plant.code}"


class RoutingVersion(models.Model):
    """One version of a routing: draft → released (numbered, frozen, with who/when/why and the
    date it takes effect); a draft may be withdrawn instead."""

    routing = models.ForeignKey(Routing, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(null=True, blank=True,
                                         help_text="Given at release: 1, 2, 3… per routing.")
    status = models.CharField(max_length=12, choices=RoutingStatus.choices,
                              default=RoutingStatus.DRAFT, db_index=True)
    effective_from = models.DateField(
        null=True, blank=True,
        help_text="Plant-local date from which it applies to orders (set at release).")
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+",
                                 help_text="The released version its operations started from.")
    notes = models.TextField(blank=True, help_text="What this version changes, for reviewers.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True, help_text="Why it was released.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["routing_id", "-number", "-id"]
        verbose_name = "routing version"
        permissions = [("release_routingversion", "Can release a routing version")]
        constraints = [
            models.UniqueConstraint(fields=["routing", "number"], name="routing_version_number"),
            models.UniqueConstraint(fields=["routing"], condition=Q(status=RoutingStatus.DRAFT),
                                    name="routing_one_draft"),
            models.CheckConstraint(
                condition=~Q(status=RoutingStatus.RELEASED)
                | Q(number__isnull=False, released_at__isnull=False, effective_from__isnull=False),
                name="routing_released_version_complete"),
        ]
        indexes = [models.Index(fields=["routing", "effective_from"],
                                condition=Q(status=RoutingStatus.RELEASED),
                                name="routing_released_effective")]

    def __str__(self) -> str:
        label = f"v{self.number}" if self.number else self.get_status_display().lower()
        return f"{self.routing} routing {label}"

    @property
    def is_editable(self) -> bool:
        return self.status == RoutingStatus.DRAFT


class RoutingOperation(models.Model):
    """One operation of a routing version. mBOM lines point to it by `operation_code` (set by
    the plant's assign_operation rules); times are minutes, the run time per one base unit of
    the routed part."""

    version = models.ForeignKey(RoutingVersion, on_delete=models.CASCADE,
                                related_name="operations")
    sequence = models.PositiveIntegerField(help_text="10, 20, 30…: the order operations run in.")
    operation_code = models.CharField(max_length=40,
                                      help_text="What mBOM lines name (their operation).")
    description = models.CharField(max_length=200, blank=True)
    work_center = models.ForeignKey(WorkCenter, on_delete=models.PROTECT,
                                    related_name="operations")
    setup_minutes = models.DecimalField(default=0, **MINUTES)
    run_minutes = models.DecimalField(default=0, help_text="Per unit of the part.", **MINUTES)
    queue_minutes = models.DecimalField(null=True, blank=True, **MINUTES)
    move_minutes = models.DecimalField(null=True, blank=True, **MINUTES)
    milestone = models.BooleanField(default=False,
                                    help_text="The MES confirms this operation (a control point).")
    reports_quantity = models.BooleanField(default=False,
                                           help_text="The MES reports good and scrap quantities "
                                                     "here.")
    instructions = models.TextField(blank=True, help_text="Work instructions for the operator.")
    document_reference = models.CharField(max_length=300, blank=True,
                                          help_text="A work instruction document (id or URL).")
    history = HistoricalRecords()

    class Meta:
        ordering = ["version_id", "sequence"]
        verbose_name = "routing operation"
        constraints = [
            models.UniqueConstraint(fields=["version", "sequence"],
                                    name="routing_operation_sequence"),
            models.UniqueConstraint(fields=["version", "operation_code"],
                                    name="routing_operation_code"),
            models.CheckConstraint(
                condition=Q(setup_minutes__gte=0, run_minutes__gte=0)
                & (Q(queue_minutes__isnull=True) | Q(queue_minutes__gte=0))
                & (Q(move_minutes__isnull=True) | Q(move_minutes__gte=0)),
                name="routing_operation_times"),
        ]

    def __str__(self) -> str:
        return f"{self.sequence} {self.operation_code}"
