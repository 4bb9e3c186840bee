"""Engineering change orders: the change order, its type and approval stages, the affected
items, the approvals and the events that tell its story (docs/change-orders.md).

Effectivity is not stored here: it belongs to the new revision (`catalog.RevisionEffectivity`),
so that "which revision applies" has one answer everywhere, with or without the change order.
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from .choices import (
    ApprovalSource,
    ChangeKind,
    ChangeOrderEventKind,
    ChangeOrderStatus,
    Decision,
    Disposition,
    ImpactFlagStatus,
    ImpactKind,
    Priority,
)


class ChangeOrderType(models.Model):
    """Design change, cost reduction, supplier change, deviation…: each with its own approval
    stages."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name = "change order type"

    def __str__(self) -> str:
        return self.name


class ApprovalStage(models.Model):
    """One review a change order of its type passes. Stages run by `order`: a stage can be
    approved once every required stage with a lower order is; equal orders run in parallel.
    Members of `groups` approve it; an optional stage (`required` off) never holds a change
    order back."""

    change_type = models.ForeignKey(ChangeOrderType, on_delete=models.CASCADE,
                                    related_name="stages")
    order = models.PositiveIntegerField()
    name = models.CharField(max_length=100)
    required = models.BooleanField(default=True)
    groups = models.ManyToManyField("auth.Group", related_name="+", blank=True,
                                    help_text="Members of these groups approve this stage.")
    history = HistoricalRecords(m2m_fields=[groups])

    class Meta:
        ordering = ["change_type_id", "order", "id"]
        verbose_name = "approval stage"
        constraints = [
            models.UniqueConstraint(fields=["change_type", "name"], name="stage_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.name}" + ("" if self.required else " (optional)")


class PlmSettings(models.Model):
    """How Thread treats one PLM's change orders. With `approves_in_plm`, the PLM approves:
    its change orders arrive approved, carrying the PLM's approvals, and are not approved again
    in Thread. Kept here rather than on the external system, so the flows app stays unaware of
    change orders."""

    system = models.OneToOneField("flows.ExternalSystem", on_delete=models.CASCADE,
                                  related_name="plm_settings", limit_choices_to={"kind": "plm"})
    approves_in_plm = models.BooleanField(
        default=False, help_text="Change orders are approved in the PLM: they arrive approved "
                                 "and Thread's approval stages are skipped.")
    history = HistoricalRecords()

    class Meta:
        verbose_name = "PLM settings"
        verbose_name_plural = "PLM settings"

    def __str__(self) -> str:
        return f"{self.system.name}: " + ("approves in the PLM" if self.approves_in_plm
                                           else "approves in Thread")


class ChangeOrder(models.Model):
    """An engineering change order (ECO). Status moves only through the services:
    draft → in review → approved → released; a rejection returns it to draft; draft, in review
    or approved may be cancelled. Each transition writes a `ChangeOrderEvent`."""

    number = models.CharField(max_length=40, unique=True, validators=[
        RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$",
                       "Letters, digits, '.', '_', '/' and '-', starting with a letter or digit.")])
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="What changes.")
    change_reason = models.TextField(blank=True, verbose_name="reason for change",
                                     help_text="Why the change is needed.")
    change_type = models.ForeignKey(ChangeOrderType, on_delete=models.PROTECT,
                                    related_name="change_orders", verbose_name="type")
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    status = models.CharField(max_length=12, choices=ChangeOrderStatus.choices,
                              default=ChangeOrderStatus.DRAFT, db_index=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    requester_name = models.CharField(max_length=200, blank=True,
                                      help_text="The requester as the PLM names them.")
    source_system = models.ForeignKey("flows.ExternalSystem", null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="change_orders",
                                      help_text="The PLM that pushed it; blank: made in Thread.")
    inbound_message = models.ForeignKey("flows.InboundMessage", null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+")
    review_round = models.PositiveIntegerField(
        default=0, help_text="1, 2, … per submit: only approvals of the current round count.")
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-id"]
        verbose_name = "change order"
        permissions = [("release_changeorder", "Can release a change order")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="released") | Q(released_at__isnull=False),
                name="changeorder_released_has_time"),
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "released"]) | Q(approved_at__isnull=False),
                name="changeorder_approved_has_time"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def requester(self) -> str:
        if self.requested_by_id:
            return self.requested_by.get_username()
        return self.requester_name


class AffectedItem(models.Model):
    """A part the change order changes: from its old revision to a new one. Effectivity is on
    the new revision; the disposition says what happens to stock, work in progress and open
    orders of the old revision."""

    change_order = models.ForeignKey(ChangeOrder, on_delete=models.CASCADE,
                                     related_name="affected_items")
    part = models.ForeignKey("catalog.Part", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=ChangeKind.choices)
    from_revision = models.ForeignKey("catalog.PartRevision", null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="+")
    to_revision = models.ForeignKey("catalog.PartRevision", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    stock_disposition = models.CharField(max_length=20, choices=Disposition.choices, blank=True)
    wip_disposition = models.CharField(max_length=20, choices=Disposition.choices, blank=True,
                                       verbose_name="WIP disposition")
    open_orders_disposition = models.CharField(max_length=20, choices=Disposition.choices,
                                               blank=True)
    notes = models.TextField(blank=True)
    reviewed_ebom = models.ForeignKey(
        "bom.EBom", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The new revision's eBOM snapshot when it was submitted: what was reviewed. "
                  "Release refuses if the eBOM changed since.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["change_order_id", "id"]
        verbose_name = "affected item"
        constraints = [
            models.UniqueConstraint(fields=["change_order", "part"],
                                    name="affected_item_one_per_part"),
        ]

    def __str__(self) -> str:
        old = self.from_revision.label if self.from_revision_id else "(none)"
        new = self.to_revision.label if self.to_revision_id else "(none)"
        return f"{self.part.number} {old} → {new} ({self.kind})"


class Approval(models.Model):
    """One decision on a stage: who (a Thread user, or an approver the PLM names), when, and
    the comment. Approvals are never changed or deleted: a rejection starts a new review round
    and the earlier rounds stay as history."""

    change_order = models.ForeignKey(ChangeOrder, on_delete=models.CASCADE,
                                     related_name="approvals")
    stage = models.ForeignKey(ApprovalStage, null=True, blank=True, on_delete=models.PROTECT,
                              related_name="approvals")
    stage_name = models.CharField(max_length=100, help_text="The stage as it was named then.")
    review_round = models.PositiveIntegerField()
    decision = models.CharField(max_length=10, choices=Decision.choices)
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    external_approver = models.CharField(max_length=200, blank=True,
                                         help_text="The approver as the PLM names them.")
    at = models.DateTimeField()
    comment = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=ApprovalSource.choices,
                              default=ApprovalSource.THREAD)

    class Meta:
        ordering = ["change_order_id", "at", "id"]
        constraints = [
            # "Not twice": one approval per stage and round (a rejection opens a new round).
            models.UniqueConstraint(fields=["change_order", "stage", "review_round"],
                                    condition=Q(decision="approved", stage__isnull=False),
                                    name="approval_once_per_stage_and_round"),
        ]

    def __str__(self) -> str:
        return f"{self.stage_name}: {self.get_decision_display()} by {self.approver_name}"

    @property
    def approver_name(self) -> str:
        return self.approver.get_username() if self.approver_id else self.external_approver


class ChangeOrderEvent(models.Model):
    """A business fact of a change order's life (submitted, stage approved, rejected,
    released…), written in the same transaction as the change. Never changes: its own
    history."""

    change_order = models.ForeignKey(ChangeOrder, on_delete=models.CASCADE,
                                     related_name="events")
    kind = models.CharField(max_length=20, choices=ChangeOrderEventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    reason = models.TextField()
    from_status = models.CharField(max_length=12, choices=ChangeOrderStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=ChangeOrderStatus.choices, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = "change order event"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.change_order.number} at {self.at:%Y-%m-%d %H:%M}"


class ImpactFlag(models.Model):
    """A change order hit this open order: raised at release (and on demand), then
    acknowledged and resolved by someone, each with a note. One flag per change order and
    order, so raising again changes nothing."""

    change_order = models.ForeignKey(ChangeOrder, on_delete=models.PROTECT,
                                     related_name="impact_flags")
    purchase_order = models.ForeignKey("orders.PurchaseOrder", null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="impact_flags")
    production_order = models.ForeignKey("orders.ProductionOrder", null=True, blank=True,
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
    # The tables keep the names they had when flags lived in the orders app (no table rebuilt).
    history = HistoricalRecords(table_name="orders_historicalimpactflag")

    class Meta:
        db_table = "orders_impactflag"
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
    def order(self):
        return self.purchase_order if self.purchase_order_id else self.production_order
