"""Work orders: Thread's record of what it told an MES (docs/work-orders.md).

One per production order and MES. It names everything it was built from (the revision, the mBOM
version and its rule-set version, the routing version) and keeps the document exactly as sent —
stored once, never re-rendered — so an auditor can walk from the shop floor back to the design.
Its operations and material requirements are written once per build, as computed. A work order
the MES does not have yet is built again in place (a rebuild, an ERP change); one the MES has is
recomputed only to send a ChangeOperationsSchedule behind the original (docs/work-orders.md,
"Changes after sending"), and every message it was sent stays linked to it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from thread.catalog.choices import WorkOrderFormat

from ..choices import WorkOrderDecision, WorkOrderStatus
from .mirrors import QUANTITY
from .routings import MINUTES


class WorkOrder(models.Model):
    production_order = models.ForeignKey("orders.ProductionOrder", on_delete=models.PROTECT,
                                         related_name="work_orders")
    mes_system = models.ForeignKey("flows.ExternalSystem", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="work_orders",
                                   verbose_name="MES",
                                   help_text="The plant's MES when it was built (blank: none).")
    plant = models.ForeignKey("catalog.Plant", on_delete=models.PROTECT,
                              related_name="work_orders")
    number = models.CharField(max_length=64, help_text="Its id at the MES (the ERP's order "
                                                       "number).")
    part = models.ForeignKey("catalog.Part", on_delete=models.PROTECT, related_name="work_orders")
    quantity = models.DecimalField(help_text="In the part's base unit.", **QUANTITY)
    unit = models.ForeignKey("catalog.UnitOfMeasure", on_delete=models.PROTECT, related_name="+")
    revision = models.ForeignKey("catalog.PartRevision", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="work_orders")
    mbom_version = models.ForeignKey("bom.MBomVersion", null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="work_orders",
                                     verbose_name="mBOM version")
    rule_set_version = models.ForeignKey("bom.MappingRuleSetVersion", null=True, blank=True,
                                         on_delete=models.PROTECT, related_name="work_orders")
    routing_version = models.ForeignKey("orders.RoutingVersion", null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="work_orders")
    format = models.CharField(max_length=10, choices=WorkOrderFormat.choices)
    status = models.CharField(max_length=20, choices=WorkOrderStatus.choices, db_index=True)
    hold_reasons = models.JSONField(default=list, blank=True,
                                    help_text='Why it is held: [{"code", "detail"}, …].')
    planned_start = models.DateTimeField(null=True, blank=True,
                                         help_text="As the MES was told (the order's, when "
                                                   "built).")
    planned_end = models.DateTimeField(null=True, blank=True)
    awaiting_decision = models.CharField(
        max_length=20, choices=WorkOrderDecision.choices, blank=True, default="",
        help_text="What waits for a person before the MES is told more.")
    decision_context = models.JSONField(
        default=dict, blank=True, help_text='What the decision is about: {"detail", '
                                            '"change_order", "as_resolved_allowed", …}.')
    changes_sent = models.PositiveIntegerField(
        default=0, help_text="Changes written to the MES after the original.")
    document = models.TextField(blank=True, help_text="The last document written for the MES, "
                                                      "exactly as sent.")
    media_type = models.CharField(max_length=100, blank=True)
    document_sha256 = models.CharField(max_length=64, blank=True)
    outbound_messages = models.ManyToManyField("flows.OutboundMessage", blank=True,
                                               related_name="+")
    ordering_key = models.CharField(max_length=200, blank=True,
                                    help_text="The outbox key its messages travel on (later "
                                              "changes follow the same key).")
    shift_batch = models.ForeignKey("orders.ShiftBatch", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="work_orders",
                                    help_text="The shift-start batch that sent it.")
    built_at = models.DateTimeField()
    built_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    build_count = models.PositiveIntegerField(default=1, help_text="Builds so far (rebuilds + 1).")
    sent_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True,
                                       help_text="Completed or cancelled.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The document is kept once, on the row: history records who moved the status and why.
    history = HistoricalRecords(excluded_fields=["document"])

    class Meta:
        ordering = ["-id"]
        verbose_name = "work order"
        permissions = [("rebuild_workorder", "Can rebuild a held work order"),
                       ("decide_workorder", "Can decide on a superseded work order or a held "
                                            "ERP change")]
        constraints = [
            models.UniqueConstraint(fields=["production_order", "mes_system"],
                                    name="work_order_per_order_and_mes"),
            models.UniqueConstraint(fields=["production_order"],
                                    condition=Q(mes_system__isnull=True),
                                    name="work_order_per_order_without_mes"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="work_order_quantity"),
        ]
        indexes = [models.Index(fields=["plant", "status"], name="work_order_plant_status")]

    def __str__(self) -> str:
        return f"Work order {self.number}"


class WorkOrderOperation(models.Model):
    """One operation of a work order as sent: the routing operation with its times for this
    order's quantity."""

    work_order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="operations")
    routing_operation = models.ForeignKey("orders.RoutingOperation", on_delete=models.PROTECT,
                                          related_name="+")
    sequence = models.PositiveIntegerField()
    operation_code = models.CharField(max_length=40)
    description = models.CharField(max_length=200, blank=True)
    work_center = models.ForeignKey("orders.WorkCenter", on_delete=models.PROTECT,
                                    related_name="+")
    setup_minutes = models.DecimalField(**MINUTES)
    run_minutes = models.DecimalField(help_text="Per unit of the part.", **MINUTES)
    queue_minutes = models.DecimalField(null=True, blank=True, **MINUTES)
    move_minutes = models.DecimalField(null=True, blank=True, **MINUTES)
    planned_minutes = models.DecimalField(max_digits=20, decimal_places=4,
                                          help_text="Setup + run * quantity + queue + move.")
    milestone = models.BooleanField(default=False)
    reports_quantity = models.BooleanField(default=False)
    instructions = models.TextField(blank=True)
    document_reference = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["work_order_id", "sequence"]
        verbose_name = "work order operation"
        constraints = [
            models.UniqueConstraint(fields=["work_order", "sequence"],
                                    name="work_order_operation_sequence"),
        ]

    def __str__(self) -> str:
        return f"{self.sequence} {self.operation_code}"


class WorkOrderMaterial(models.Model):
    """A material requirement of an operation: a component to issue (from its mBOM line), or
    the part the last operation produces."""

    operation = models.ForeignKey(WorkOrderOperation, on_delete=models.CASCADE,
                                  related_name="materials")
    position = models.PositiveIntegerField()
    part = models.ForeignKey("catalog.Part", on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(max_digits=30, decimal_places=12)
    unit = models.ForeignKey("catalog.UnitOfMeasure", on_delete=models.PROTECT, related_name="+")
    produced = models.BooleanField(default=False)
    mbom_line = models.ForeignKey("bom.MBomLine", null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["operation_id", "position"]
        verbose_name = "work order material"
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0),
                                   name="work_order_material_quantity"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity.normalize()} {self.part_id}"


class ShiftBatch(models.Model):
    """One plant's shift-start batch: created once per plant and shift (the unique key is the
    claim, so a schedule that runs twice, or late after downtime, sends nothing twice), with the
    work orders it sent and, where the MES takes several work orders in one document, that
    document. A fact that never changes once written."""

    plant = models.ForeignKey("catalog.Plant", on_delete=models.PROTECT,
                              related_name="shift_batches")
    shift_key = models.CharField(max_length=16, help_text="Plant-local date and start time.")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(help_text="The next shift's start.")
    created_at = models.DateTimeField()
    sent = models.PositiveIntegerField(default=0, help_text="Work orders sent.")
    document = models.TextField(blank=True, help_text="The one document sent, where the MES "
                                                      "takes batches.")

    class Meta:
        ordering = ["-starts_at"]
        verbose_name = "shift batch"
        verbose_name_plural = "shift batches"
        constraints = [
            models.UniqueConstraint(fields=["plant", "shift_key"], name="shift_batch_once"),
        ]

    def __str__(self) -> str:
        return f"{self.plant.code} shift {self.shift_key}"
