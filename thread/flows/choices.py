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
