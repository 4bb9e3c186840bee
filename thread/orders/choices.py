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
