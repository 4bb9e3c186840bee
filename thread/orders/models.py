"""Mirrors of the ERP's open orders, and the flags a change order raises on them
(docs/orders-and-impact.md).

The ERP owns its orders: Thread keeps what the ERP pushes (upserted by the ERP's own number,
unique per system, never a Thread key) so that a change can be judged against them. A
production order also records what it resolves to in Thread — the part revision in effect on
its planned start at its plant, and that revision's current mBOM version there — which is what
an MES work order will be built from.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from .choices import ImpactFlagStatus, ImpactKind, ProductionOrderStatus, PurchaseOrderStatus

QUANTITY = {"max_digits": 20, "decimal_places": 6}


class PurchaseOrder(models.Model):
    system = models.ForeignKey("flows.ExternalSystem", on_delete=models.PROTECT,
                               related_name="purchase_orders", help_text="The ERP that owns it.")
    number = models.CharField(max_length=64, help_text="The ERP's order number.")
    supplier = models.CharField(max_length=200)
    plant = models.ForeignKey("catalog.Plant", on_delete=models.PROTECT,
                              related_name="purchase_orders")
    status = models.CharField(max_length=20, choices=PurchaseOrderStatus.choices, db_index=True)
    erp_status = models.CharField(max_length=64, blank=True,
                                  help_text="The status as the ERP names it.")
    order_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["system_id", "number"]
        verbose_name = "purchase order"
        constraints = [
            models.UniqueConstraint(fields=["system", "number"], name="purchase_order_number"),
        ]

    def __str__(self) -> str:
        return f"PO {self.number}"


class PurchaseOrderLine(models.Model):
    order = models.ForeignKey(PurchaseOrder, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveIntegerField()
    part = models.ForeignKey("catalog.Part", on_delete=models.PROTECT,
                             related_name="purchase_order_lines")
    quantity = models.DecimalField(**QUANTITY)
    unit = models.ForeignKey("catalog.UnitOfMeasure", on_delete=models.PROTECT, related_name="+")
    due_date = models.DateField(help_text="Plant-local delivery date.")
    received_quantity = models.DecimalField(default=0, **QUANTITY)
    status = models.CharField(max_length=20, choices=PurchaseOrderStatus.choices)
    history = HistoricalRecords()

    class Meta:
        ordering = ["order_id", "line_number"]
        verbose_name = "purchase order line"
        constraints = [
            models.UniqueConstraint(fields=["order", "line_number"], name="purchase_line_number"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="purchase_line_quantity"),
            models.CheckConstraint(condition=Q(received_quantity__gte=0),
                                   name="purchase_line_received"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.line_number}: {self.quantity.normalize()} {self.part_id}"

    @property
    def open_quantity(self):
        return max(self.quantity - self.received_quantity, 0)


class ProductionOrder(models.Model):
    """The ERP's order to build a quantity of a part at a plant. `revision` and `mbom_version`
    are Thread's answer to "built from what": resolved by effectivity on the plant-local date of
    `planned_start` (`resolved_as_of`); when nothing resolves yet they stay empty and
    `resolution_note` says why. An MES work order (a later issue) points here and takes its
    components from `mbom_version`."""

    system = models.ForeignKey("flows.ExternalSystem", on_delete=models.PROTECT,
                               related_name="production_orders",
                               help_text="The ERP that owns it.")
    number = models.CharField(max_length=64, help_text="The ERP's order number.")
    part = models.ForeignKey("catalog.Part", on_delete=models.PROTECT,
                             related_name="production_orders")
    plant = models.ForeignKey("catalog.Plant", on_delete=models.PROTECT,
                              related_name="production_orders")
    quantity = models.DecimalField(**QUANTITY)
    unit = models.ForeignKey("catalog.UnitOfMeasure", on_delete=models.PROTECT, related_name="+")
    planned_start = models.DateTimeField()
    planned_end = models.DateTimeField()
    status = models.CharField(max_length=20, choices=ProductionOrderStatus.choices,
                              db_index=True)
    erp_status = models.CharField(max_length=64, blank=True,
                                  help_text="The status as the ERP names it.")
    revision = models.ForeignKey("catalog.PartRevision", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="production_orders",
                                 help_text="The revision in effect on the planned start.")
    mbom_version = models.ForeignKey("bom.MBomVersion", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="production_orders",
                                     verbose_name="mBOM version")
    resolved_as_of = models.DateField(null=True, blank=True,
                                      help_text="The plant-local date the revision was resolved "
                                                "for.")
    resolution_note = models.CharField(max_length=300, blank=True,
                                       help_text="Why no revision or mBOM version is set.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["system_id", "number"]
        verbose_name = "production order"
        constraints = [
            models.UniqueConstraint(fields=["system", "number"], name="production_order_number"),
            models.CheckConstraint(condition=Q(quantity__gt=0),
                                   name="production_order_quantity"),
            models.CheckConstraint(condition=Q(planned_end__gte=F("planned_start")),
                                   name="production_order_dates"),
        ]

    def __str__(self) -> str:
        return f"Production order {self.number}"


class ImpactFlag(models.Model):
    """A change order hit this open order: raised at release (and on demand), then
    acknowledged and resolved by someone, each with a note. One flag per change order and
    order, so raising again changes nothing."""

    change_order = models.ForeignKey("changes.ChangeOrder", on_delete=models.PROTECT,
                                     related_name="impact_flags")
    purchase_order = models.ForeignKey(PurchaseOrder, null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="impact_flags")
    production_order = models.ForeignKey(ProductionOrder, null=True, blank=True,
                                         on_delete=models.PROTECT, related_name="impact_flags")
    kind = models.CharField(max_length=20, choices=ImpactKind.choices)
    part = models.ForeignKey("catalog.Part", on_delete=models.PROTECT, related_name="+",
                             help_text="The part on the order through which the change hit it.")
    summary = models.TextField(help_text="What hit the order, with dates against the "
                                         "effectivity.")
    details = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=12, choices=ImpactFlagStatus.choices,
                              default=ImpactFlagStatus.OPEN, db_index=True)
    raised_at = models.DateTimeField()
    raised_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+")
    acknowledge_note = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    resolution_note = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        verbose_name = "impact flag"
        constraints = [
            models.CheckConstraint(
                condition=Q(purchase_order__isnull=False, production_order__isnull=True)
                | Q(purchase_order__isnull=True, production_order__isnull=False),
                name="impact_flag_one_order"),
            models.UniqueConstraint(fields=["change_order", "purchase_order"],
                                    condition=Q(purchase_order__isnull=False),
                                    name="impact_flag_once_per_purchase_order"),
            models.UniqueConstraint(fields=["change_order", "production_order"],
                                    condition=Q(production_order__isnull=False),
                                    name="impact_flag_once_per_production_order"),
            models.CheckConstraint(condition=Q(status="open") | Q(acknowledged_at__isnull=False),
                                   name="impact_flag_acknowledged_has_time"),
            models.CheckConstraint(condition=~Q(status="resolved") | Q(resolved_at__isnull=False),
                                   name="impact_flag_resolved_has_time"),
        ]

    def __str__(self) -> str:
        return f"{self.change_order_id} → {self.order}"

    @property
    def order(self) -> PurchaseOrder | ProductionOrder | None:
        return self.purchase_order if self.purchase_order_id else self.production_order
