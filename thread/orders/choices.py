from django.db import models


class PurchaseOrderStatus(models.TextChoices):
    """Thread's words for a purchase order (and a line); the connector maps each ERP's own codes
    to these and the raw code is kept next to them (`erp_status`)."""

    OPEN = "open", "Open"
    PARTIALLY_RECEIVED = "partially_received", "Partially received"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


# Still to be delivered: what a change can hit.
OPEN_PURCHASE_STATUSES = (PurchaseOrderStatus.OPEN, PurchaseOrderStatus.PARTIALLY_RECEIVED)


class ProductionOrderStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    RELEASED = "released", "Released"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


# Not yet built to the end: what a change can hit.
OPEN_PRODUCTION_STATUSES = (ProductionOrderStatus.PLANNED, ProductionOrderStatus.RELEASED,
                            ProductionOrderStatus.IN_PROGRESS)


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
