from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from .choices import InboundStatus, SystemKind


class ExternalSystem(models.Model):
    """A PLM, ERP or MES that Thread talks to. It calls Thread's API as its own service user,
    so history names it; its kind decides what it may push and read."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=SystemKind.choices)
    description = models.TextField(blank=True)
    enabled = models.BooleanField(default=True)
    service_user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="external_system"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class ApiKey(models.Model):
    """A system's credential. Only a SHA-256 of the key is stored (keys are 256-bit random, so a
    slow hash adds nothing); the key itself is shown once when issued. Several live keys per
    system let a key be rotated without downtime."""

    system = models.ForeignKey(ExternalSystem, on_delete=models.CASCADE, related_name="api_keys")
    label = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, help_text="First characters of the key, to tell keys apart.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["last_used_at"])

    class Meta:
        ordering = ["system", "-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.system.name})"


class InboundMessage(models.Model):
    """Every push to the API, stored before it is processed: the inbox and the idempotency
    record in one. Unique per (caller, Idempotency-Key)."""

    caller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="inbound_messages"
    )
    system = models.ForeignKey(
        ExternalSystem, null=True, blank=True, on_delete=models.PROTECT, related_name="inbound_messages"
    )
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    body_hash = models.CharField(max_length=64)
    body = models.TextField(blank=True)
    body_bytes = models.PositiveBigIntegerField(default=0)
    correlation_id = models.CharField(max_length=100, db_index=True)
    status = models.CharField(max_length=12, choices=InboundStatus.choices, db_index=True)
    received_at = models.DateTimeField(db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["caller", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="inbound_unique_caller_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.idempotency_key or '-'}] {self.status}"
