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


class RoutingStatus(models.TextChoices):
    """Where a routing version is. Only a draft's operations change; a released version keeps
    them for good (the work orders built from it name it)."""

    DRAFT = "draft", "Draft"
    RELEASED = "released", "Released"
    WITHDRAWN = "withdrawn", "Withdrawn (never released)"


class WorkOrderStatus(models.TextChoices):
    """What Thread knows of a work order at the MES (docs/work-orders.md, "Status")."""

    HELD = "held", "Held (not sent)"
    SCHEDULED = "scheduled", "Scheduled (waits for its shift's batch)"
    PENDING = "pending", "Pending (in the outbox)"
    SENT = "sent", "Sent (delivered to the MES)"
    ACKNOWLEDGED = "acknowledged", "Acknowledged by the MES"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


# What the MES may report, from which statuses. A repeat of the current status changes
# nothing; anything else is a conflict (409). `pending` is accepted where `sent` is: the MES
# may answer before the outbox has recorded the delivery.
WORK_ORDER_MOVES: dict[str, frozenset[str]] = {
    WorkOrderStatus.ACKNOWLEDGED: frozenset({WorkOrderStatus.PENDING, WorkOrderStatus.SENT}),
    WorkOrderStatus.IN_PROGRESS: frozenset({WorkOrderStatus.PENDING, WorkOrderStatus.SENT,
                                            WorkOrderStatus.ACKNOWLEDGED}),
    WorkOrderStatus.COMPLETED: frozenset({WorkOrderStatus.ACKNOWLEDGED,
                                          WorkOrderStatus.IN_PROGRESS}),
    WorkOrderStatus.CANCELLED: frozenset({WorkOrderStatus.PENDING, WorkOrderStatus.SENT,
                                          WorkOrderStatus.ACKNOWLEDGED,
                                          WorkOrderStatus.IN_PROGRESS}),
}
MES_REPORTED_STATUSES = tuple(WORK_ORDER_MOVES)


class HoldReason(models.TextChoices):
    """Why a work order was not sent. Each is fixed at its source, then the work order is
    rebuilt (docs/work-orders.md, "Held work orders")."""

    NO_MES = "no_mes", "The plant has no MES"
    NO_SHIFT = "no_shift", "Shift-start timing without a shift calendar"
    NO_MBOM = "no_mbom_version", "No mBOM version"
    NO_ROUTING = "no_routing", "No released routing in effect"
    UNKNOWN_OPERATION = "unknown_operation", "mBOM operation code not in the routing"
    FOREIGN_WORK_CENTER = "foreign_work_center", "Work center of another plant"
    UNCONVERTIBLE_UNIT = "unit_not_convertible", "Quantity cannot be converted"
    SCHEMA_INVALID = "schema_invalid", "Document fails schema validation"
    SUPERSEDED = "superseded", "Revision or mBOM version superseded"


class WorkOrderDecision(models.TextChoices):
    """What waits for a person before Thread tells the MES anything more about a work order
    (docs/work-orders.md, "Changes after sending" and "The superseded guard")."""

    NONE = "", "Nothing"
    SUPERSEDED = "superseded", "Superseded: send as resolved, or re-resolve"
    ERP_CHANGE = "erp_change", "ERP change after the MES started: send it, or keep"
    ERP_CANCEL = "erp_cancel", "ERP cancellation after the MES started: send it, or keep"


# The MES has begun (or finished) the work: the ERP's changes wait for a person.
STARTED = (WorkOrderStatus.IN_PROGRESS, WorkOrderStatus.COMPLETED)
# The MES has the work order (or is about to): a change or a cancellation is a message.
AT_THE_MES = (WorkOrderStatus.PENDING, WorkOrderStatus.SENT, WorkOrderStatus.ACKNOWLEDGED)
