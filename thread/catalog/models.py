from decimal import Decimal
from zoneinfo import available_timezones

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords

from .choices import (
    CrossReferenceKind,
    Dimension,
    LateRelease,
    LifecycleState,
    MakeOrBuy,
    RevisionStatus,
    WorkOrderFormat,
    WorkOrderTiming,
)
from .effectivity import MAX_SERIAL_LENGTH, EffectivityKind, effectivity_problems
from .validators import validate_part_number


def validate_time_zone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin).",
                              code="invalid_time_zone")


class UnitOfMeasure(models.Model):
    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=64)
    dimension = models.CharField(max_length=10, choices=Dimension.choices)
    factor = models.DecimalField(
        max_digits=30, decimal_places=15, validators=[MinValueValidator(Decimal("1e-15"))],
        help_text="How many of the dimension's base unit one of this unit is (mm: 0.001 m).",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["dimension", "factor", "code"]
        verbose_name = "unit of measure"

    def __str__(self) -> str:
        return self.code


class UnitAlias(models.Model):
    """Another spelling of a unit, added by an analyst (the usual ones are built in:
    `catalog.units.SPELLINGS`). Matched in any case, so unique in any case."""

    alias = models.CharField(max_length=64, help_text="As people or systems write it, e.g. "
                                                      "\"Ltrs\"; any case matches.")
    unit = models.ForeignKey(UnitOfMeasure, on_delete=models.CASCADE, related_name="aliases")
    history = HistoricalRecords()

    class Meta:
        ordering = ["alias"]
        verbose_name_plural = "unit aliases"
        constraints = [
            models.UniqueConstraint(
                Lower("alias"), name="unit_alias_unique_in_any_case",
                violation_error_message="This alias exists already (in some case)."),
        ]

    def __str__(self) -> str:
        return f"{self.alias} → {self.unit.code}"

    def clean(self) -> None:
        # An alias is matched before codes in another case and names: one spelt like a code or
        # a name would take that spelling from its unit ("KG" → g).
        taken = UnitOfMeasure.objects.filter(Q(code__iexact=self.alias) | Q(name__iexact=self.alias)
                                             ).first()
        if taken is not None:
            raise ValidationError({"alias": f"{self.alias!r} is the code or name of {taken.code} "
                                            f"({taken.name}) already; an alias is another spelling."})


class SystemUnitCode(models.Model):
    """How one external system writes one of Thread's units: read on its pushes, written on
    what Thread sends it (`outbound`, one code per unit)."""

    system = models.ForeignKey("flows.ExternalSystem", on_delete=models.CASCADE,
                               related_name="unit_codes")
    code = models.CharField(max_length=32, help_text="The system's own code; any case matches.")
    unit = models.ForeignKey(UnitOfMeasure, on_delete=models.CASCADE, related_name="system_codes")
    outbound = models.BooleanField(
        default=True, help_text="Thread writes this code for the unit when it sends to the "
                                "system (one code per unit); off: only read.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["system__name", "code"]
        verbose_name = "system unit code"
        constraints = [
            models.UniqueConstraint(
                "system", Lower("code"), name="system_unit_code_unique_in_any_case",
                violation_error_message="The system has this code already (in some case)."),
            models.UniqueConstraint(
                fields=["system", "unit"], condition=Q(outbound=True),
                name="system_unit_code_one_outbound",
                violation_error_message="The system has an outbound code for this unit already; "
                                        "untick outbound here or there."),
        ]

    def __str__(self) -> str:
        return f"{self.system.name}: {self.code} → {self.unit.code}"


class Part(models.Model):
    number = models.CharField(max_length=64, unique=True, validators=[validate_part_number])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=64, blank=True, db_index=True)
    base_unit = models.ForeignKey(UnitOfMeasure, on_delete=models.PROTECT, related_name="+")
    make_or_buy = models.CharField(max_length=4, choices=MakeOrBuy.choices, default=MakeOrBuy.MAKE)
    lifecycle_state = models.CharField(
        max_length=10, choices=LifecycleState.choices, default=LifecycleState.IN_DESIGN
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return self.number


class PartRevision(models.Model):
    """A part's versioned definition. Once released its content never changes; only its status
    moves on (superseded, obsolete)."""

    part = models.ForeignKey(Part, on_delete=models.PROTECT, related_name="revisions")
    label = models.CharField(max_length=16)
    status = models.CharField(
        max_length=10, choices=RevisionStatus.choices, default=RevisionStatus.DRAFT, db_index=True
    )
    description = models.TextField(blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["part__number", "created_at", "id"]
        permissions = [("release_partrevision", "Can release a part revision")]
        constraints = [
            models.UniqueConstraint(fields=["part", "label"], name="revision_unique_label"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(released_at__isnull=False),
                name="revision_released_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.part.number} rev {self.label}"

    @property
    def is_frozen(self) -> bool:
        return self.status != RevisionStatus.DRAFT


class PartUnitConversion(models.Model):
    """A conversion across dimensions that holds for one part: 1 from_unit = factor to_unit."""

    part = models.ForeignKey(Part, on_delete=models.CASCADE, related_name="unit_conversions")
    from_unit = models.ForeignKey(UnitOfMeasure, on_delete=models.PROTECT, related_name="+")
    to_unit = models.ForeignKey(UnitOfMeasure, on_delete=models.PROTECT, related_name="+")
    factor = models.DecimalField(max_digits=30, decimal_places=15,
                                 validators=[MinValueValidator(Decimal("1e-15"))])
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["part", "from_unit", "to_unit"],
                                    name="part_conversion_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.part}: 1 {self.from_unit} = {self.factor.normalize()} {self.to_unit}"

    def clean(self) -> None:
        if self.from_unit_id and self.to_unit_id and (
            self.from_unit.dimension == self.to_unit.dimension
        ):
            raise ValidationError(
                {"to_unit": "Units of one dimension convert through the unit table already."}
            )


class Plant(models.Model):
    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=100)
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone],
                                 help_text="Date effectivity is judged in this time zone.")
    erp_system = models.ForeignKey(
        "flows.ExternalSystem", null=True, blank=True, on_delete=models.PROTECT,
        related_name="erp_plants", limit_choices_to={"kind": "erp"},
    )
    mes_system = models.ForeignKey(
        "flows.ExternalSystem", null=True, blank=True, on_delete=models.PROTECT,
        related_name="mes_plants", limit_choices_to={"kind": "mes"},
    )
    makes_new_products = models.BooleanField(
        default=False,
        help_text="Make every newly released top-level product that has no plant part data "
                  "here: its mBOM is generated and sent to this plant's ERP on release. Off: "
                  "only products whose plant part data says make (and active), or that already "
                  "have an mBOM here.")
    work_order_format = models.CharField(
        max_length=10, choices=WorkOrderFormat.choices, default=WorkOrderFormat.B2MML,
        help_text="The document this plant's MES takes for a work order.")
    work_order_timing = models.CharField(
        max_length=20, choices=WorkOrderTiming.choices, default=WorkOrderTiming.ON_RELEASE,
        help_text="When a released production order's work order is sent to the MES.")
    late_release = models.CharField(
        max_length=20, choices=LateRelease.choices, default=LateRelease.NEXT_BATCH,
        help_text="Shift-start timing: an order released after its shift's batch has gone.")
    mes_takes_batches = models.BooleanField(
        default=False, help_text="Shift-start timing: the MES takes one document with several "
                                 "work orders (OperationsRequests); off: one message each.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class PlantPart(models.Model):
    """Per-plant data of a part; mapping rules may override it."""

    plant = models.ForeignKey(Plant, on_delete=models.CASCADE, related_name="plant_parts")
    part = models.ForeignKey(Part, on_delete=models.CASCADE, related_name="plant_parts")
    active = models.BooleanField(default=True)
    make_or_buy = models.CharField(max_length=4, choices=MakeOrBuy.choices, blank=True,
                                   help_text="Blank: the part's default.")
    unit = models.ForeignKey(UnitOfMeasure, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="+", help_text="The plant's unit; blank: the base unit.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["plant__code", "part__number"]
        constraints = [
            models.UniqueConstraint(fields=["plant", "part"], name="plant_part_unique"),
        ]
        verbose_name = "plant part data"
        verbose_name_plural = "plant part data"

    def __str__(self) -> str:
        return f"{self.part.number} @ {self.plant.code}"


class CrossReference(models.Model):
    """An identity of a Thread object in an external system (never used as Thread's key)."""

    system = models.ForeignKey("flows.ExternalSystem", on_delete=models.CASCADE,
                               related_name="cross_references")
    kind = models.CharField(max_length=20, choices=CrossReferenceKind.choices)
    external_id = models.CharField(max_length=128)
    plant = models.ForeignKey(Plant, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="+", help_text="For per-plant ids (ERP material).")
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    history = HistoricalRecords()

    class Meta:
        ordering = ["system", "kind", "external_id"]
        indexes = [models.Index(fields=["content_type", "object_id"])]
        constraints = [
            models.UniqueConstraint(
                fields=["system", "kind", "external_id", "plant"],
                condition=Q(plant__isnull=False), name="xref_unique_external_per_plant",
            ),
            models.UniqueConstraint(
                fields=["system", "kind", "external_id"],
                condition=Q(plant__isnull=True), name="xref_unique_external",
            ),
            models.UniqueConstraint(
                fields=["system", "kind", "content_type", "object_id", "plant"],
                condition=Q(plant__isnull=False), name="xref_unique_object_per_plant",
            ),
            models.UniqueConstraint(
                fields=["system", "kind", "content_type", "object_id"],
                condition=Q(plant__isnull=True), name="xref_unique_object",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.system.name} {self.get_kind_display()} {self.external_id}"


class RevisionEffectivity(models.Model):
    """When a revision applies once released: from a date (a calendar date, judged in each
    plant's own time zone), for a serial-number range, or for one lot. Set on the new revision
    by its change order while the revision is a draft, frozen with its release. A released
    revision without effectivity applies always; `catalog.selectors.revision_in_effect` is the
    one place that reads this (rules in `catalog.effectivity`)."""

    revision = models.OneToOneField(PartRevision, on_delete=models.CASCADE,
                                    related_name="effectivity")
    kind = models.CharField(max_length=10, choices=EffectivityKind.choices)
    effective_from = models.DateField(null=True, blank=True,
                                      help_text="Date effectivity: the first day, plant-local.")
    serial_from = models.CharField(max_length=MAX_SERIAL_LENGTH, blank=True)
    serial_to = models.CharField(max_length=MAX_SERIAL_LENGTH, blank=True,
                                 help_text="Blank: the first serial and every later one.")
    lot = models.CharField(max_length=MAX_SERIAL_LENGTH, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["revision_id"]
        verbose_name = "revision effectivity"
        verbose_name_plural = "revision effectivities"
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="date") | Q(effective_from__isnull=False),
                name="effectivity_date_has_start"),
            models.CheckConstraint(condition=~Q(kind="serial") | ~Q(serial_from=""),
                                   name="effectivity_serial_has_start"),
            models.CheckConstraint(condition=~Q(kind="lot") | ~Q(lot=""),
                                   name="effectivity_lot_given"),
        ]

    def __str__(self) -> str:
        return f"{self.revision}: {self.describe()}"

    def describe(self) -> str:
        if self.kind == EffectivityKind.DATE:
            return f"from {self.effective_from:%Y-%m-%d}"
        if self.kind == EffectivityKind.SERIAL:
            return f"serials {self.serial_from} to {self.serial_to}" if self.serial_to \
                else f"serials from {self.serial_from}"
        return f"lot {self.lot}"

    def clean(self) -> None:
        problems = effectivity_problems(
            kind=self.kind, effective_from=self.effective_from, serial_from=self.serial_from,
            serial_to=self.serial_to, lot=self.lot)
        if problems:
            raise ValidationError(problems)
