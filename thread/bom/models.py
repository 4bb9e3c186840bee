from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from .choices import (
    ACTIVE_JOB_STATUSES,
    OPEN_STATUSES,
    PUBLISHED_STATUSES,
    ItemType,
    JobKind,
    JobStatus,
    ReleaseGenerationStatus,
    RuleSetEventKind,
    VersionStatus,
)
from .engine import ACTIONS


class EBom(models.Model):
    """One push of a part revision's engineering BOM: an immutable snapshot.

    The snapshot row carries who, when, why and which inbound message; its lines never change
    (they are their own history, see RELIABILITY.md). `is_current` marks the newest snapshot of
    a revision: the only field that ever moves, and only from true to false, when a newer push
    replaces it. It exists so that "the current eBOM of every revision" is an indexed lookup,
    also inside the recursive cycle and explosion queries.
    """

    revision = models.ForeignKey("catalog.PartRevision", on_delete=models.PROTECT,
                                 related_name="eboms")
    number = models.PositiveIntegerField(help_text="1, 2, 3… per revision, in push order.")
    is_current = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    inbound_message = models.ForeignKey("flows.InboundMessage", null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="eboms")
    line_count = models.PositiveIntegerField()
    fingerprint = models.CharField(
        max_length=64, help_text="SHA-256 of the lines' content: a push of identical lines makes "
                                 "no new snapshot.")

    class Meta:
        ordering = ["revision_id", "number"]
        verbose_name = "eBOM snapshot"
        constraints = [
            models.UniqueConstraint(fields=["revision", "number"], name="ebom_unique_number"),
            models.UniqueConstraint(fields=["revision"], condition=Q(is_current=True),
                                    name="ebom_one_current_per_revision"),
        ]

    def __str__(self) -> str:
        return f"eBOM {self.number} of {self.revision}"


class EBomLine(models.Model):
    """A direct child of the snapshot's revision. It points at the child *part*: which revision
    of the child applies is resolved by effectivity when the structure is exploded."""

    ebom = models.ForeignKey(EBom, on_delete=models.CASCADE, related_name="lines")
    find_number = models.PositiveIntegerField()
    part = models.ForeignKey("catalog.Part", on_delete=models.PROTECT, related_name="ebom_lines")
    quantity = models.DecimalField(max_digits=20, decimal_places=6)
    unit = models.ForeignKey("catalog.UnitOfMeasure", on_delete=models.PROTECT, related_name="+")
    reference_designators = models.JSONField(default=list, blank=True)
    item_type = models.CharField(max_length=10, choices=ItemType.choices)
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["ebom_id", "find_number"]
        verbose_name = "eBOM line"
        constraints = [
            models.UniqueConstraint(fields=["ebom", "find_number"], name="ebom_line_unique_find"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="ebom_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.find_number}: {self.quantity.normalize()} {self.part_id}"


# --- Mapping rule sets ------------------------------------------------------------------------

ACTION_CHOICES = [(action, action.replace("_", " ")) for action in ACTIONS]


class MappingRuleSet(models.Model):
    """The eBOM→mBOM rules of one plant, as a series of versions (`versions`). One rule set per
    plant, so "the plant's current rules" is one published version without a further choice."""

    plant = models.OneToOneField("catalog.Plant", on_delete=models.PROTECT,
                                 related_name="mapping_rule_set")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    requires_approval = models.BooleanField(
        default=False, help_text="Four-eyes: a publish needs the approval of a second person.")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["plant__code"]
        verbose_name = "mapping rule set"

    def __str__(self) -> str:
        return f"{self.name} ({self.plant.code})"


class MappingRuleSetVersion(models.Model):
    """One version of a rule set: a draft that analysts edit, then a numbered, frozen version.

    draft → pending_approval (four-eyes) → published → superseded (by the next publish);
    a draft may also be withdrawn. `number` is given at publish (1, 2, … per rule set).
    `lock_version` counts the draft's saves: a save based on an older count is refused
    (optimistic locking), so two analysts never overwrite each other silently."""

    rule_set = models.ForeignKey(MappingRuleSet, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(null=True, blank=True,
                                         help_text="Given at publish: 1, 2, 3… per rule set.")
    status = models.CharField(max_length=20, choices=VersionStatus.choices,
                              default=VersionStatus.DRAFT, db_index=True)
    based_on = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+",
                                 help_text="The published version whose rules it started from.")
    notes = models.TextField(blank=True, help_text="What this version changes, for reviewers.")
    lock_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(blank=True, help_text="Why it was published.")
    history = HistoricalRecords()

    class Meta:
        ordering = ["rule_set_id", "-number", "-id"]
        verbose_name = "mapping rule set version"
        permissions = [
            ("publish_mappingrulesetversion",
             "Can publish a rule set version or request its approval"),
            ("approve_mappingrulesetversion",
             "Can approve or reject a rule set version (four-eyes)"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["rule_set", "number"], name="ruleset_version_number"),
            models.UniqueConstraint(fields=["rule_set"], condition=Q(status__in=OPEN_STATUSES),
                                    name="ruleset_one_open_version"),
            models.UniqueConstraint(fields=["rule_set"],
                                    condition=Q(status=VersionStatus.PUBLISHED),
                                    name="ruleset_one_published_version"),
            models.CheckConstraint(
                condition=~Q(status__in=PUBLISHED_STATUSES)
                | Q(number__isnull=False, published_at__isnull=False),
                name="ruleset_published_version_numbered"),
            models.CheckConstraint(
                condition=Q(status__in=PUBLISHED_STATUSES) | Q(number__isnull=True),
                name="ruleset_unpublished_version_unnumbered"),
        ]

    def __str__(self) -> str:
        label = f"v{self.number}" if self.number else self.get_status_display().lower()
        return f"{self.rule_set.plant.code} rules {label}"

    @property
    def is_editable(self) -> bool:
        return self.status == VersionStatus.DRAFT


class MappingRule(models.Model):
    """One rule: when `condition` holds for an eBOM line, `action` with `params` applies (see
    docs/mapping-rules.md). A draft's rules change (with history); a published version's never."""

    version = models.ForeignKey(MappingRuleSetVersion, on_delete=models.CASCADE,
                                related_name="rules")
    order = models.PositiveIntegerField(help_text="Rules run in this order (then by id).")
    name = models.CharField(max_length=100)
    condition = models.JSONField(default=dict)
    action = models.CharField(max_length=20, choices=ACTION_CHOICES)
    params = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["version_id", "order", "id"]
        verbose_name = "mapping rule"

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"


class MappingRuleSetEvent(models.Model):
    """A business fact of a rule set's life (publish, approval, rejection, rollback…), written
    in the same transaction as the change. Never changes, so it is its own history."""

    version = models.ForeignKey(MappingRuleSetVersion, on_delete=models.PROTECT,
                                related_name="events")
    kind = models.CharField(max_length=20, choices=RuleSetEventKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    reason = models.TextField()
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = "rule set event"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.version} at {self.at:%Y-%m-%d %H:%M}"


# --- mBOMs ------------------------------------------------------------------------------------


class MBom(models.Model):
    """The manufacturing BOM of one made part revision at one plant: a series of immutable
    versions (`versions`), of which the newest is current."""

    revision = models.ForeignKey("catalog.PartRevision", on_delete=models.PROTECT,
                                 related_name="mboms")
    plant = models.ForeignKey("catalog.Plant", on_delete=models.PROTECT, related_name="mboms")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["plant_id", "revision_id"]
        verbose_name = "mBOM"
        constraints = [
            models.UniqueConstraint(fields=["revision", "plant"], name="mbom_unique_revision_plant"),
        ]
        # An analyst's "generate now" (docs/mbom.md); granted to analysts and change managers.
        permissions = [("generate_mbom", "Generate mBOMs on demand")]

    def __str__(self) -> str:
        return f"mBOM {self.revision} @ {self.plant.code}"


class MBomVersion(models.Model):
    """One generation of an mBOM: what was built, from which inputs, why and by whom.

    Never changes (it is its own history) except `is_current`, which moves from true to false
    when a newer version of the same mBOM is generated, exactly like `EBom.is_current`.
    `fingerprint` is the SHA-256 of every input (the eBOM snapshots involved, the rule-set
    version, the plant's catalog data for the parts): the same inputs make no new version.
    `content_hash` covers only what the ERP receives: a new version whose content hash equals
    its predecessor's is stored (its lineage names the new rules) but not sent."""

    mbom = models.ForeignKey(MBom, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(help_text="1, 2, 3… per mBOM.")
    is_current = models.BooleanField(default=True)
    rule_set_version = models.ForeignKey(MappingRuleSetVersion, on_delete=models.PROTECT,
                                         related_name="mbom_versions")
    as_of = models.DateField(help_text="The date (plant time zone) revisions were resolved for.")
    root = models.ForeignKey("catalog.PartRevision", on_delete=models.PROTECT, related_name="+",
                             help_text="The top-level product revision it was generated for.")
    resolved_revisions = models.JSONField(
        default=dict, help_text="Part number → {id, label} of every revision in its structure, "
                                "as the resolver chose them.")
    ebom_ids = models.JSONField(default=list,
                                help_text="The eBOM snapshots its lines come from.")
    set_aside = models.JSONField(
        default=list, help_text="eBOM occurrences that feed no line: [kind, path, rule id, "
                                "bought line id] (excluded, flattened, inside a bought item).")
    warnings = models.JSONField(default=list, blank=True)
    fingerprint = models.CharField(max_length=64)
    content_hash = models.CharField(max_length=64)
    line_count = models.PositiveIntegerField()
    cause_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    cause_id = models.CharField(max_length=64, blank=True)
    cause = GenericForeignKey("cause_type", "cause_id")
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()

    class Meta:
        ordering = ["mbom_id", "-number"]
        verbose_name = "mBOM version"
        indexes = [models.Index(fields=["cause_type", "cause_id"], name="mbom_version_cause")]
        constraints = [
            models.UniqueConstraint(fields=["mbom", "number"], name="mbom_version_unique_number"),
            models.UniqueConstraint(fields=["mbom"], condition=Q(is_current=True),
                                    name="mbom_one_current_version"),
        ]

    def __str__(self) -> str:
        return f"{self.mbom} v{self.number}"


class MBomLine(models.Model):
    """One line of an mBOM version, as the engine made it, with its lineage: `lineage` is
    {"paths": [[eBOM line ids from the made assembly down]], "rule_ids": [...]} (see
    `thread.bom.engine.Lineage`)."""

    version = models.ForeignKey(MBomVersion, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    part = models.ForeignKey("catalog.Part", on_delete=models.PROTECT, related_name="mbom_lines")
    quantity = models.DecimalField(max_digits=30, decimal_places=12)
    unrounded_quantity = models.DecimalField(max_digits=40, decimal_places=20)
    unit = models.ForeignKey("catalog.UnitOfMeasure", on_delete=models.PROTECT, related_name="+")
    item_type = models.CharField(max_length=10, choices=ItemType.choices)
    make_or_buy = models.CharField(max_length=4)
    scrap_percent = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    yield_percent = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    operation = models.CharField(max_length=40, blank=True)
    erp_fields = models.JSONField(default=dict, blank=True)
    reference_designators = models.JSONField(default=list, blank=True)
    substitutes_for = models.ForeignKey("catalog.Part", null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+")
    added_by_rule = models.ForeignKey(MappingRule, null=True, blank=True,
                                      on_delete=models.PROTECT, related_name="+")
    lineage = models.JSONField(default=dict)

    class Meta:
        ordering = ["version_id", "position"]
        verbose_name = "mBOM line"
        constraints = [
            models.UniqueConstraint(fields=["version", "position"],
                                    name="mbom_line_unique_position"),
        ]

    def __str__(self) -> str:
        return f"{self.position}: {self.quantity.normalize()} {self.part_id}"


class RegenerationJob(models.Model):
    """Regenerating mBOMs at a plant in chunks: every released product after a rule-set publish,
    or the products a release or an analyst names (`products`).

    `cursor` is the id of the last product revision processed: a job resumes after it, so a
    crash loses at most the chunk in flight (and that chunk is idempotent: fingerprints)."""

    plant = models.ForeignKey("catalog.Plant", on_delete=models.PROTECT,
                              related_name="regeneration_jobs")
    kind = models.CharField(max_length=16, choices=JobKind.choices,
                            default=JobKind.RULES_PUBLISHED)
    rule_set_version = models.ForeignKey(MappingRuleSetVersion, on_delete=models.PROTECT,
                                         related_name="regeneration_jobs")
    products = models.ManyToManyField(
        "catalog.PartRevision", blank=True, related_name="+",
        help_text="The product revisions to regenerate; none: every product of the plant.")
    status = models.CharField(max_length=12, choices=JobStatus.choices,
                              default=JobStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0, help_text="mBOM versions written.")
    sent = models.PositiveIntegerField(default=0, help_text="Outbound messages written.")
    error_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True,
                              help_text="The latest errors: product, message, when.")
    cursor = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "mBOM regeneration job"
        indexes = [models.Index(fields=["status"], condition=Q(status__in=ACTIVE_JOB_STATUSES),
                                name="regeneration_active")]

    def __str__(self) -> str:
        return f"Regeneration #{self.pk} {self.plant.code} ({self.status})"

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.done * 100 // self.total)


class ReleaseGeneration(models.Model):
    """What a release did to one top-level product's mBOM at one plant: generated in the
    release's transaction, unchanged, queued as a job, or why not. Written with the release and
    never changed, so an auditor (and the admin) sees every plant a release reached or could not
    reach; `released` are the revisions whose release it followed (the product itself, or the
    sub-assemblies above which it sits)."""

    released = models.ManyToManyField("catalog.PartRevision", related_name="release_generations")
    product = models.ForeignKey("catalog.PartRevision", on_delete=models.PROTECT,
                                related_name="+", help_text="The top-level product revision.")
    plant = models.ForeignKey("catalog.Plant", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=ReleaseGenerationStatus.choices)
    mbom_version = models.ForeignKey(MBomVersion, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name="mBOM version",
                                     help_text="The product's current mBOM version afterwards.")
    job = models.ForeignKey(RegenerationJob, null=True, blank=True, on_delete=models.PROTECT,
                            related_name="release_generations")
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()

    class Meta:
        ordering = ["-id"]
        verbose_name = "mBOM generation after a release"
        verbose_name_plural = "mBOM generations after releases"

    def __str__(self) -> str:
        return f"{self.product} @ {self.plant.code}: {self.status}"
