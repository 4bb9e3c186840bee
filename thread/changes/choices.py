from django.db import models


class ChangeOrderStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    RELEASED = "released", "Released"
    CANCELLED = "cancelled", "Cancelled"


# Statuses from which a change order may still be cancelled: nothing was released yet.
CANCELLABLE = (ChangeOrderStatus.DRAFT, ChangeOrderStatus.IN_REVIEW, ChangeOrderStatus.APPROVED)
# An affected revision may belong to one open change order only.
OPEN_STATUSES = CANCELLABLE


class Priority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class ChangeKind(models.TextChoices):
    ADD = "add", "Add (a new part: its first revision)"
    MODIFY = "modify", "Modify (new revision, interchangeable)"
    REPLACE = "replace", "Replace (new revision, not interchangeable)"
    REMOVE = "remove", "Remove (the revision becomes obsolete)"


# Kinds that name the old revision, and those that bring a new one.
KINDS_WITH_OLD = (ChangeKind.MODIFY, ChangeKind.REPLACE, ChangeKind.REMOVE)
KINDS_WITH_NEW = (ChangeKind.ADD, ChangeKind.MODIFY, ChangeKind.REPLACE)


class Disposition(models.TextChoices):
    USE_AS_IS = "use_as_is", "Use as is"
    REWORK = "rework", "Rework"
    SCRAP = "scrap", "Scrap"
    RETURN_TO_VENDOR = "return_to_vendor", "Return to vendor"


class Decision(models.TextChoices):
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class ApprovalSource(models.TextChoices):
    THREAD = "thread", "Thread"
    PLM = "plm", "PLM"


class ChangeOrderEventKind(models.TextChoices):
    CREATED = "created", "Created"
    PUSHED = "pushed", "Pushed by the PLM"
    UPDATED = "updated", "Updated"
    ITEM_ADDED = "item_added", "Affected item added"
    ITEM_CHANGED = "item_changed", "Affected item changed"
    ITEM_REMOVED = "item_removed", "Affected item removed"
    SUBMITTED = "submitted", "Submitted for review"
    STAGE_APPROVED = "stage_approved", "Stage approved"
    APPROVED = "approved", "Approved"
    APPROVED_IN_PLM = "approved_in_plm", "Approved in the PLM"
    REJECTED = "rejected", "Rejected (back to draft)"
    RELEASED = "released", "Released"
    RELEASE_FAILED = "release_failed", "Release failed (nothing changed)"
    CANCELLED = "cancelled", "Cancelled"


class ImpactKind(models.TextChoices):
    """How a change order reaches an order."""

    AFFECTED_PART = "affected_part", "Order for the changed part"
    REMOVED_COMPONENT = "removed_component", "Order for a component the change removes"
    CHANGED_COMPONENT = "changed_component", "Order for a component whose quantity changes"
    PARENT_ASSEMBLY = "parent_assembly", "Production of an assembly built from the changed part"


class ImpactFlagStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class Timing(models.TextChoices):
    """When an order's date falls against the change's effectivity (plant-local dates)."""

    BEFORE = "before", "Before the effectivity"
    ON_OR_AFTER = "on_or_after", "On or after the effectivity"
    UNKNOWN = "unknown", "Not comparable (serial or lot effectivity, or none yet)"
