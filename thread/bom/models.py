from django.conf import settings
from django.db import models
from django.db.models import Q

from .choices import ItemType


class EBom(models.Model):
    """One push of a part revision's engineering BOM: an immutable snapshot.

    The snapshot row carries who, when, why and which inbound message; its lines never change
    (they are their own history, see RELIABILITY.md). `is_current` marks the newest snapshot of
    a revision: the only field that ever moves, and only from true to false, when a newer push
    replaces it. It exists so that "the current eBOM of every revision" is an indexed lookup,
    also inside the recursive cycle and explosion queries.
    """

    revision = models.ForeignKey("catalog.PartRevision", on_delete=models.PROTECT,
                                 related_name="eboms")
    number = models.PositiveIntegerField(help_text="1, 2, 3… per revision, in push order.")
    is_current = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    inbound_message = models.ForeignKey("flows.InboundMessage", null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="eboms")
    line_count = models.PositiveIntegerField()
    fingerprint = models.CharField(
        max_length=64, help_text="SHA-256 of the lines' content: a push of identical lines makes "
                                 "no new snapshot.")

    class Meta:
        ordering = ["revision_id", "number"]
        verbose_name = "eBOM snapshot"
        constraints = [
            models.UniqueConstraint(fields=["revision", "number"], name="ebom_unique_number"),
            models.UniqueConstraint(fields=["revision"], condition=Q(is_current=True),
                                    name="ebom_one_current_per_revision"),
        ]

    def __str__(self) -> str:
        return f"eBOM {self.number} of {self.revision}"


class EBomLine(models.Model):
    """A direct child of the snapshot's revision. It points at the child *part*: which revision
    of the child applies is resolved by effectivity when the structure is exploded."""

    ebom = models.ForeignKey(EBom, on_delete=models.CASCADE, related_name="lines")
    find_number = models.PositiveIntegerField()
    part = models.ForeignKey("catalog.Part", on_delete=models.PROTECT, related_name="ebom_lines")
    quantity = models.DecimalField(max_digits=20, decimal_places=6)
    unit = models.ForeignKey("catalog.UnitOfMeasure", on_delete=models.PROTECT, related_name="+")
    reference_designators = models.JSONField(default=list, blank=True)
    item_type = models.CharField(max_length=10, choices=ItemType.choices)
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["ebom_id", "find_number"]
        verbose_name = "eBOM line"
        constraints = [
            models.UniqueConstraint(fields=["ebom", "find_number"], name="ebom_line_unique_find"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="ebom_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.find_number}: {self.quantity.normalize()} {self.part_id}"
