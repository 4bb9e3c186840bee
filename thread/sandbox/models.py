"""The sandbox's own records: one switch per simulated peer and every request it received.

Nothing here is product data: the tables exist only where THREAD_SANDBOX is on (the demo and
the tests), and nothing in Thread reads them except the sandbox page."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from .choices import FaultMode, PeerName, RequestOutcome

MAX_SLOW_SECONDS = 60


class SandboxPeer(models.Model):
    """The switch of one simulated peer. A peer without a row is working."""

    name = models.CharField(max_length=10, choices=PeerName.choices, unique=True)
    fault = models.CharField(max_length=20, choices=FaultMode.choices, default=FaultMode.NONE)
    fault_topic = models.CharField(max_length=100, blank=True,
                                   help_text="The topic refused with 400 (reject_400 only).")
    retry_after_seconds = models.PositiveIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(3600)])
    slow_seconds = models.FloatField(
        default=10.0, validators=[MinValueValidator(0.1), MaxValueValidator(MAX_SLOW_SECONDS)],
        help_text="How long a slow peer takes to answer; set it above the system's read timeout.")
    switched_at = models.DateTimeField(null=True, blank=True)
    switched_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"sandbox {self.get_name_display()}: {self.get_fault_display()}"


class SandboxRequest(models.Model):
    """One request a simulated peer received, as it arrived (Authorization redacted), and what
    the peer made of it."""

    peer = models.CharField(max_length=10, choices=PeerName.choices)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    topic = models.CharField(max_length=100, blank=True)
    headers = models.JSONField(default=dict)
    body = models.TextField(blank=True)
    received_at = models.DateTimeField(db_index=True)
    idempotency_key = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=10, choices=RequestOutcome.choices)
    fault = models.CharField(max_length=20, choices=FaultMode.choices, default=FaultMode.NONE,
                             help_text="The switch's position when the request came in.")
    response_status = models.PositiveSmallIntegerField()
    note = models.TextField(blank=True, help_text="What the peer made of the document (the "
                                                  "sandbox MES reads B2MML work orders).")

    class Meta:
        ordering = ["-id"]
        constraints = [
            # The peer's own idempotency: a key is applied at most once per peer. The database
            # decides, so two concurrent deliveries of one key cannot both apply it.
            models.UniqueConstraint(fields=["peer", "idempotency_key"],
                                    condition=Q(outcome=RequestOutcome.APPLIED),
                                    name="sandbox_applied_once_per_key"),
        ]

    def __str__(self) -> str:
        return f"{self.peer} {self.method} {self.path} [{self.outcome}]"
