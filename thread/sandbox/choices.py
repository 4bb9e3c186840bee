from django.db import models


class PeerName(models.TextChoices):
    ERP = "erp", "ERP"
    MES = "mes", "MES"
    PLM = "plm", "PLM"


class FaultMode(models.TextChoices):
    NONE = "none", "Working"
    DOWN = "down", "Down (503 at once)"
    SLOW = "slow", "Slow (answers after the client gave up)"
    ERROR_500 = "error_500", "500 Internal Server Error"
    THROTTLE_429 = "throttle_429", "429 Too Many Requests, with Retry-After"
    REJECT_400 = "reject_400", "400 Bad Request for one topic"


class RequestOutcome(models.TextChoices):
    APPLIED = "applied", "Applied"
    REPEAT = "repeat", "Repeat (already applied, not applied again)"
    FAILED = "failed", "Failed by the switch"
    REFUSED = "refused", "Refused (no Idempotency-Key)"
    INVALID = "invalid", "Refused (not a valid B2MML document)"
    READ = "read", "Read (a GET, such as a connection test: nothing applied)"
