"""Mirrors of the ERP's open orders, and the flags a change order raises on them
(docs/orders-and-impact.md).

The ERP owns its orders: Thread keeps what the ERP pushes (upserted by the ERP's own number,
unique per system, never a Thread key) so that a change can be judged against them. A
production order also records what it resolves to in Thread — the part revision in effect on
its planned start at its plant, and that revision's current mBOM version there — which is what
an MES work order will be built from.
"""

from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from ..choices import ProductionOrderStatus, PurchaseOrderStatus

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


class ErpPollMark(models.Model):
    """How far a poll of one system has read (its high-water mark), written in the transaction
    that stores what the poll read: a poll that dies mid-batch reads the batch again, and the
    upserts it repeats change nothing."""

    system = models.ForeignKey("flows.ExternalSystem", on_delete=models.CASCADE,
                               related_name="+")
    kind = models.CharField(max_length=40, help_text='What is polled, e.g. "build_orders".')
    mark = models.CharField(max_length=100, blank=True,
                            help_text="The peer's position: opaque to Thread.")
    polled_at = models.DateTimeField(null=True, blank=True)
    last_count = models.PositiveIntegerField(default=0, help_text="Records the last poll read.")
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = "ERP poll mark"
        constraints = [models.UniqueConstraint(fields=["system", "kind"], name="erp_poll_once")]

    def __str__(self) -> str:
        return f"{self.system.name} {self.kind} @ {self.mark or 'start'}"
