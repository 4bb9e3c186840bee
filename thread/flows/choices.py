from django.db import models


class SystemKind(models.TextChoices):
    PLM = "plm", "PLM"
    ERP = "erp", "ERP"
    MES = "mes", "MES"


class InboundStatus(models.TextChoices):
    PROCESSING = "processing", "Processing"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    # An unexpected error (a bug, the database going away): nothing was written, and the same
    # Idempotency-Key may be sent again to retry.
    FAILED = "failed", "Failed"


class OutboundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    DELIVERED = "delivered", "Delivered"
    RETRYING = "retrying", "Retrying"
    DEAD = "dead", "Dead"
    SUPERSEDED = "superseded", "Superseded"
    CANCELLED = "cancelled", "Cancelled"


# Messages still on their way: they hold their ordering key (the next one waits behind them).
OUTBOUND_ACTIVE = (OutboundStatus.PENDING, OutboundStatus.RETRYING, OutboundStatus.SENDING)
OUTBOUND_WAITING = (OutboundStatus.PENDING, OutboundStatus.RETRYING)


class OutboundEventKind(models.TextChoices):
    SUPERSEDED = "superseded", "Superseded by a newer message"
    DEAD = "dead", "Moved to the dead letter"
    QUARANTINED = "quarantined", "Quarantined (kept killing its worker)"
    EXPIRED = "expired", "Expired (older than the maximum age)"
    RETRIED = "retried", "Retry now (operator)"
    REPLAYED = "replayed", "Replayed (operator)"
    CANCELLED = "cancelled", "Cancelled (operator)"


class AttemptOutcome(models.TextChoices):
    DELIVERED = "delivered", "Delivered"
    RETRY = "retry", "Will retry"
    DEAD = "dead", "Dead"


class AlertKind(models.TextChoices):
    DEAD = "dead", "Dead messages need action"
    STALE = "stale", "Oldest undelivered message is too old"
    FAILING = "failing", "Deliveries to the peer are failing"
    UNREACHABLE = "unreachable", "The peer cannot be reached"
    STUCK = "stuck", "Messages stuck in sending (their worker died)"


class PeerVerdict(models.TextChoices):
    """What one delivery attempt says about the peer's health (docs/monitoring.md)."""

    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed: the peer, or the way to it"
    # The peer answered and refused this one message (a 4xx, a redirect), or Thread could not
    # build or send it (mapping, configuration): the peer works, and the dead alert reports it.
    REFUSED = "refused", "Refused: this message, not the peer"


class AttentionState(models.TextChoices):
    OPEN = "open", "Needs attention"
    RESOLVED = "resolved", "Resolved"


class DriftStatus(models.TextChoices):
    """A drift finding's life (docs/monitoring.md, "Drift"): open until someone or the peer
    closes it. Re-pushed and gone are final; an acknowledged one is checked again and reopens
    when the peer (or Thread) changes that field again."""

    OPEN = "open", "Open"
    RE_PUSHED = "re_pushed", "Re-pushed"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    GONE = "gone", "Gone (fixed at the peer)"


# Findings every check compares again; the others are closed for good.
DRIFT_LIVE = (DriftStatus.OPEN, DriftStatus.ACKNOWLEDGED)


class DriftRunState(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    # Its process died (or was stopped) halfway: the next run resumes from its cursor.
    INTERRUPTED = "interrupted", "Interrupted"


class DriftTrigger(models.TextChoices):
    SCHEDULE = "schedule", "Schedule"
    COMMAND = "command", "Management command"
    OPERATOR = "operator", "Operator (check now)"
