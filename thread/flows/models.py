from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce, Greatest
from simple_history.models import HistoricalRecords

from connectors.registry import connector_names

from .choices import (
    DRIFT_LIVE,
    OUTBOUND_ACTIVE,
    OUTBOUND_WAITING,
    AlertKind,
    AttemptOutcome,
    AttentionState,
    DriftRunState,
    DriftStatus,
    DriftTrigger,
    InboundStatus,
    OutboundEventKind,
    OutboundStatus,
    SystemKind,
)
from .timing import system_timeouts_error


def validate_connector(value: str) -> None:
    if value and value not in connector_names():
        raise ValidationError(f"Unknown connector {value!r}; known: {', '.join(connector_names())}.")


credential_name_validator = RegexValidator(
    r"^[A-Z][A-Z0-9_]*$", "An environment variable name such as ERP_BERLIN_TOKEN (the secret "
    "itself is never stored).")


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

    # Outbound delivery (the outbox). A system without a connector only calls Thread.
    connector = models.CharField(max_length=40, blank=True, validators=[validate_connector],
                                 help_text="How Thread sends to this system (rest, webhook); "
                                           "blank if Thread never sends to it.")
    base_url = models.URLField(blank=True, max_length=500)
    credential_name = models.CharField(
        max_length=100, blank=True, validators=[credential_name_validator],
        help_text="Name of the environment variable (or NAME_FILE) holding the token or signing "
                  "secret, read at send time.")
    connector_options = models.JSONField(default=dict, blank=True,
                                         help_text='e.g. {"paths": {"mbom.version": "/api/boms"}}')
    connect_timeout_seconds = models.FloatField(default=5.0, validators=[MinValueValidator(0.1)])
    read_timeout_seconds = models.FloatField(default=30.0, validators=[MinValueValidator(0.1)])
    max_attempts = models.PositiveIntegerField(default=12, validators=[MinValueValidator(1)])
    backoff_base_seconds = models.FloatField(default=2.0, validators=[MinValueValidator(0.01)])
    backoff_cap_seconds = models.FloatField(default=900.0, validators=[MinValueValidator(0.01)])
    delivery_enabled = models.BooleanField(
        default=True, help_text="Off: messages to this system wait (pending) until it is on again.")
    # Drift (docs/monitoring.md): only connectors that can read back (InvenTree) are checked;
    # rest and webhook never are, whatever this says.
    drift_check_enabled = models.BooleanField(
        "drift check", default=True,
        help_text="Read back what Thread delivered and report what was changed at the peer by "
                  "hand. Only for connectors that can read back (InvenTree); rest and webhook "
                  "cannot, and are never checked.")
    drift_check_every_minutes = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(5)],
        help_text="A new pass over everything delivered starts this often; a pass too large for "
                  "one run continues every few minutes until it is through.")
    drift_check_batch = models.PositiveIntegerField(
        default=100, validators=[MinValueValidator(1)],
        help_text="Objects read back per run at most (bounds one run's requests to the peer).")
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def clean(self) -> None:
        problem = system_timeouts_error(connect_timeout=self.connect_timeout_seconds,
                                        read_timeout=self.read_timeout_seconds)
        if problem:
            raise ValidationError({"read_timeout_seconds": problem})


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


# The statuses with an index of their own per system (see OutboundMessage.Meta.indexes).
STATUS_INDEXED = (OutboundStatus.PENDING, OutboundStatus.RETRYING, OutboundStatus.SENDING,
                  OutboundStatus.DEAD)


def waiting_since() -> Greatest:
    """Since when a message on its way has been waiting: from the start of its delivery round, or
    from its not_before if that is later (a message held back on purpose is not waiting). The
    flow status orders by this expression, which the index outbound_waiting_since holds."""
    return Greatest("enqueued_at", Coalesce("not_before", "enqueued_at"))


class OutboundMessage(models.Model):
    """One arrow leaving Thread, written in the same transaction as the change that caused it.
    The row owns its delivery: status, attempts, backoff, lease, idempotency key, dead letter.

    State changes made by the drainer are conditional UPDATEs (the claim must be atomic on
    PostgreSQL and SQLite alike), so this model has no simple-history: the facts are recorded as
    DeliveryAttempt rows (every try) and OutboundMessageEvent rows (every other transition and
    every operator action, with who and why)."""

    # Indexes cost every claim and every outcome (each rewrites the row in all of them); only
    # those a read needs exist. The system is the first column of the composite ones below.
    system = models.ForeignKey(ExternalSystem, on_delete=models.PROTECT, db_index=False,
                               related_name="outbound_messages")
    topic = models.CharField(max_length=100)
    about_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, db_index=False,
                                   related_name="+")
    about_id = models.CharField(max_length=64)
    about = GenericForeignKey("about_type", "about_id")
    cause_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT,
                                   db_index=False, related_name="+")
    cause_id = models.CharField(max_length=64, blank=True)
    cause = GenericForeignKey("cause_type", "cause_id")
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    idempotency_key = models.CharField(max_length=100)  # unique: Meta.constraints
    ordering_key = models.CharField(max_length=200)
    correlation_id = models.CharField(max_length=100)
    status = models.CharField(max_length=12, choices=OutboundStatus.choices,
                              default=OutboundStatus.PENDING)
    # Attempts in the current delivery round (max_attempts counts these; a replay starts again).
    attempts = models.PositiveIntegerField(default=0)
    # Every attempt ever made, across replays: the next attempt's number is this plus one, so
    # the attempt log reads #1, #2, #3 after a replay, never #1 twice.
    attempts_total = models.PositiveIntegerField(default=0)
    # Claims by a worker; claims minus attempts = claims that ended without an outcome (the
    # worker died), which is what quarantine counts.
    leases = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    # Start of the current delivery round (creation, or the last replay): the maximum age
    # counts from here.
    enqueued_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    not_before = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)
    # host:pid of the worker holding the lease: a drain on the same host that finds this pid
    # gone takes the message back at once instead of waiting for the lease to run out.
    lease_owner = models.CharField(max_length=100, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # When it reached a final status (delivered, dead, superseded, cancelled): retention counts
    # from here.
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    superseded_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+")

    class Meta:
        ordering = ["-id"]
        permissions = [("operate_outboundmessage",
                        "Can retry, replay or cancel outbound messages")]
        indexes = [
            # Due work: the drainer scans waiting messages oldest first.
            models.Index(fields=["id"], condition=Q(status__in=OUTBOUND_WAITING),
                         name="outbound_waiting"),
            # Expired leases.
            models.Index(fields=["lease_until"], condition=Q(status=OutboundStatus.SENDING),
                         name="outbound_sending_lease"),
            # The earliest retry: when the next drain must run.
            models.Index(fields=["next_attempt_at"], condition=Q(status__in=OUTBOUND_WAITING),
                         name="outbound_waiting_next"),
            # Head of line: is an older message for the same object still on its way?
            models.Index(fields=["system", "ordering_key", "id"],
                         condition=Q(status__in=OUTBOUND_ACTIVE), name="outbound_active_key"),
            models.Index(fields=["system", "ordering_key", "topic", "id"],
                         name="outbound_key_topic"),
            models.Index(fields=["status", "finished_at"], name="outbound_status_finished"),
            # Flow status: a system's messages by status, counted up to a cap, and its last
            # delivery, each read from this index alone.
            models.Index(fields=["system", "status", "delivered_at"], name="outbound_system_status"),
            # Flow status: a system's oldest waiting message, one index probe.
            models.Index(F("system"), waiting_since(), condition=Q(status__in=OUTBOUND_ACTIVE),
                         name="outbound_waiting_since"),
            # Flow status: a system's messages in a status that rows move through, counted up
            # to a cap. One small index per status holds just those rows in the system's
            # order: the planner reads it rather than every message of the system, even
            # before a VACUUM has marked the pages all-visible.
            *(models.Index(fields=["system"], condition=Q(status=status),
                           name=f"outbound_system_{status}") for status in STATUS_INDEXED),
            # The monitor's search by correlation id (exact match only: no LIKE index).
            models.Index(fields=["correlation_id"], name="outbound_correlation"),
        ]
        constraints = [
            # A constraint rather than unique=True, which would add a LIKE index never read.
            models.UniqueConstraint(fields=["idempotency_key"], name="outbound_idempotency_key"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.topic} {self.ordering_key} → {self.system_id} [{self.status}]"


class DeliveryAttempt(models.Model):
    """One try to deliver a message: what was sent, what came back, how it was judged."""

    message = models.ForeignKey(OutboundMessage, on_delete=models.CASCADE,
                                related_name="delivery_attempts")
    # The message's system, copied: the monitor reads a system's recent attempts (failure rate,
    # consecutive failures, the peer's last error) from one index, without joining messages.
    system = models.ForeignKey(ExternalSystem, null=True, on_delete=models.CASCADE,
                               db_index=False, related_name="+")  # see delivery_attempt_system
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    request_summary = models.CharField(max_length=600, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    outcome = models.CharField(max_length=10, choices=AttemptOutcome.choices)
    error_class = models.CharField(max_length=40, blank=True)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=100, blank=True,
                              help_text="host:pid of the worker process that sent it")
    task_id = models.CharField(max_length=64, blank=True,
                               help_text="The django-q2 task the worker was running")
    steps = models.JSONField(
        default=list, blank=True,
        help_text='The requests of a converging delivery, in order: [{"method", "url", '
                  '"status", "excerpt"}, …] (never a credential).')

    class Meta:
        ordering = ["message", "number", "id"]
        indexes = [
            # A system's recent attempts, newest first: failure rate, consecutive failures.
            # (No index on started_at alone: the planner would read it for a system's newest
            # attempts and filter by system, passing every other system's attempts.)
            models.Index(fields=["system", "started_at"], name="delivery_attempt_system"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of #{self.message_id}: {self.outcome}"


class OutboundMessageEvent(models.Model):
    """A transition that is not a plain delivery, or an operator's action: who, why, from, to."""

    message = models.ForeignKey(OutboundMessage, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=12, choices=OutboundEventKind.choices)
    from_status = models.CharField(max_length=12, choices=OutboundStatus.choices)
    to_status = models.CharField(max_length=12, choices=OutboundStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField()

    class Meta:
        ordering = ["message", "at", "id"]

    def __str__(self) -> str:
        return f"#{self.message_id} {self.kind} at {self.at:%Y-%m-%d %H:%M:%S}"


class FlowAlertNotice(models.Model):
    """An alert on a system's flows (dead messages, or an undelivered message older than
    THREAD_ALERT_PENDING_AGE_MINUTES) as the e-mail hook saw it: raised once, e-mailed once, and
    cleared when the condition is gone, so the same alert is not mailed every minute and a new
    occurrence after it cleared is mailed again."""

    system = models.ForeignKey(ExternalSystem, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    detail = models.TextField()
    raised_at = models.DateTimeField()
    emailed_at = models.DateTimeField(null=True, blank=True)
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            # One open notice per system and kind: two clusters running the hook at once cannot
            # both raise (and mail) the same alert.
            models.UniqueConstraint(fields=["system", "kind"], condition=Q(cleared_at__isnull=True),
                                    name="flow_alert_one_open_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.system_id} {self.kind} raised {self.raised_at:%Y-%m-%d %H:%M}"


class AttentionItem(models.Model):
    """A domain record the flow monitor must show: a work order held back from the MES, and
    later a shift batch, a poll or a PLM import run that needs a person. The domain app raises
    and resolves it through `thread.flows.attention` (flows never imports a domain app, so the
    record carries what the monitor shows: a reference, the reason and the admin URL)."""

    system = models.ForeignKey(ExternalSystem, null=True, blank=True, on_delete=models.PROTECT,
                               related_name="attention_items",
                               help_text="The system the record concerns (blank: none yet).")
    kind = models.CharField(max_length=40, help_text="What it is, e.g. work_order_held.")
    about_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    about_id = models.CharField(max_length=64)
    about = GenericForeignKey("about_type", "about_id")
    reference = models.CharField(max_length=200, help_text="How people name the record.")
    state = models.CharField(max_length=10, choices=AttentionState.choices,
                             default=AttentionState.OPEN)
    reason = models.TextField()
    admin_url = models.CharField(max_length=300, blank=True)
    opened_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True, help_text="How it was resolved.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = "attention item"
        indexes = [models.Index(fields=["state", "-opened_at"], name="attention_state_opened")]
        constraints = [
            # One record per domain object and kind; it opens and resolves as often as needed.
            models.UniqueConstraint(fields=["kind", "about_type", "about_id"],
                                    name="attention_one_per_object"),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.get_state_display().lower()}"


class PeerObject(models.Model):
    """The id a system assigned to one of Thread's objects, learnt by delivering to it (a
    converging connector reads the peer first, then changes it by the difference): InvenTree
    part 42 is Thread's "BK-100|B". The next message for the same object starts from it; a lost
    row is found again by the connector, which looks the object up by its natural key."""

    system = models.ForeignKey(ExternalSystem, on_delete=models.CASCADE,
                               related_name="peer_objects")
    kind = models.CharField(max_length=40, help_text='What it is at the peer, e.g. "part", '
                                                     '"bom_item".')
    natural_key = models.CharField(max_length=300, help_text="Thread's key of the object.")
    peer_id = models.CharField(max_length=100, help_text="The peer's id of it.")
    first_seen_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["system", "kind", "natural_key"]
        verbose_name = "peer object id"
        constraints = [
            models.UniqueConstraint(fields=["system", "kind", "natural_key"],
                                    name="peer_object_once"),
        ]

    def __str__(self) -> str:
        return f"{self.system.name} {self.kind} {self.natural_key} = {self.peer_id}"



class DriftCheckRun(models.Model):
    """One run of the drift check for one system: a slice of a pass (sweep) over every object
    Thread delivered to it, in natural-key order. `cursor` is the last object checked, saved
    after each one, so a run that fails or dies halfway is resumed from there by the next."""

    system = models.ForeignKey(ExternalSystem, on_delete=models.CASCADE,
                               related_name="drift_check_runs")
    trigger = models.CharField(max_length=10, choices=DriftTrigger.choices)
    state = models.CharField(max_length=12, choices=DriftRunState.choices,
                             default=DriftRunState.RUNNING)
    sweep = models.PositiveIntegerField(help_text="Which pass over the catalogue (1, 2, …).")
    sweep_started_at = models.DateTimeField()
    started_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField(help_text="Last sign of life (after each object).")
    finished_at = models.DateTimeField(null=True, blank=True)
    resumed_from = models.CharField(max_length=200, blank=True,
                                    help_text="The object the previous run stopped after.")
    cursor = models.CharField(max_length=200, blank=True,
                              help_text="The last object checked (its ordering key).")
    sweep_done = models.BooleanField(default=False, help_text="This run finished the pass.")
    objects_checked = models.PositiveIntegerField(default=0)
    objects_skipped = models.PositiveIntegerField(
        default=0, help_text="Objects with a newer message on its way or dead: judged after it.")
    objects_failed = models.PositiveIntegerField(
        default=0, help_text="Objects the peer refused to show (a 4xx): reported, then passed.")
    differences = models.PositiveIntegerField(default=0)
    findings_opened = models.PositiveIntegerField(default=0)
    findings_closed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=100, blank=True, help_text="host:pid that ran it")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["system", "-started_at"], name="drift_run_system")]
        constraints = [
            # One run at a time per system: two clusters cannot read the same peer twice over.
            models.UniqueConstraint(fields=["system"], condition=Q(state=DriftRunState.RUNNING),
                                    name="drift_run_one_running"),
        ]

    def __str__(self) -> str:
        return f"drift check {self.system_id} #{self.pk} {self.state}"


class DriftFinding(models.Model):
    """One field of one object at a peer that differs from what Thread last delivered (a BOM
    quantity edited in the ERP by hand, a deleted line, an extra one). `object_key` is the
    delivered message's ordering key (what can be re-pushed); `object` and `field` say where
    inside it, as the connector names them."""

    system = models.ForeignKey(ExternalSystem, on_delete=models.PROTECT,
                               related_name="drift_findings")
    topic = models.CharField(max_length=100)
    object_key = models.CharField(max_length=200)
    object = models.CharField(max_length=300)
    field = models.CharField(max_length=100, blank=True, help_text="Blank: the whole object.")
    thread_value = models.TextField(blank=True, help_text="What Thread delivered (blank: none).")
    peer_value = models.TextField(blank=True, help_text="What the peer holds (blank: none).")
    status = models.CharField(max_length=12, choices=DriftStatus.choices,
                              default=DriftStatus.OPEN)
    message = models.ForeignKey(OutboundMessage, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", help_text="The delivered message compared.")
    re_push = models.ForeignKey(OutboundMessage, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", help_text="The message that re-pushed it.")
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    # last_seen_at moves on every check by a plain UPDATE, so history holds the changes only.
    history = HistoricalRecords(excluded_fields=["last_seen_at"])

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        permissions = [("operate_driftfinding", "Can re-push or acknowledge drift findings")]
        indexes = [
            models.Index(fields=["system", "status"], name="drift_finding_system_status"),
            models.Index(fields=["system", "object_key", "topic"], name="drift_finding_object"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["system", "topic", "object_key", "object", "field"],
                                    condition=Q(status__in=DRIFT_LIVE),
                                    name="drift_finding_one_live"),
        ]

    def __str__(self) -> str:
        where = f"{self.object}.{self.field}" if self.field else self.object
        return f"{where}: {self.thread_value or '—'} ≠ {self.peer_value or '—'}"
