from django.db import models


class QualityDisposition(models.TextChoices):
    """What was decided about the defective quantity (ISA-95's usual dispositions)."""

    PENDING = "pending", "Pending (not decided yet)"
    USE_AS_IS = "use_as_is", "Use as is"
    REWORK = "rework", "Rework"
    SCRAP = "scrap", "Scrap"
    RETURN_TO_VENDOR = "return_to_vendor", "Return to vendor"


class QualityEventStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged (quality)"


class AlertKind(models.TextChoices):
    LOW_YIELD = "low_yield", "First-pass yield under target"
    SLOW_RUN = "slow_run", "Run time above standard by a factor"
    NEW_DEFECT = "new_defect", "A defect code not seen before on the revision"
