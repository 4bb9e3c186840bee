from django.db import models


class ItemType(models.TextChoices):
    """What an eBOM line is. The mapping rules decide what each becomes in a plant's mBOM
    (a phantom is flattened, a document is not built, bulk is not counted per unit)."""

    COMPONENT = "component", "Component"
    PHANTOM = "phantom", "Phantom / kit"
    DOCUMENT = "document", "Reference only / document"
    SOFTWARE = "software", "Software"
    BULK = "bulk", "Bulk / as required"


class VersionStatus(models.TextChoices):
    """Where a rule-set version is in its life. Only a draft's rules change; a version that was
    ever published keeps its rules for good (the mBOMs built from it name it)."""

    DRAFT = "draft", "Draft"
    PENDING_APPROVAL = "pending_approval", "Pending approval"
    PUBLISHED = "published", "Published (current)"
    SUPERSEDED = "superseded", "Superseded"
    WITHDRAWN = "withdrawn", "Withdrawn (never published)"


OPEN_STATUSES = (VersionStatus.DRAFT, VersionStatus.PENDING_APPROVAL)
PUBLISHED_STATUSES = (VersionStatus.PUBLISHED, VersionStatus.SUPERSEDED)


class RuleSetEventKind(models.TextChoices):
    """The business facts of a rule set's life that auditors read."""

    DRAFT_STARTED = "draft_started", "Draft started"
    APPROVAL_REQUESTED = "approval_requested", "Approval requested"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected (back to draft)"
    PUBLISHED = "published", "Published"
    ROLLED_BACK = "rolled_back", "Rolled back"
    WITHDRAWN = "withdrawn", "Draft withdrawn"


class JobStatus(models.TextChoices):
    """Where a regeneration job is. A job that a newer publish at the same plant overtakes is
    superseded: the newer job regenerates everything with the newer rules anyway."""

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    SUPERSEDED = "superseded", "Superseded by a newer publish"


ACTIVE_JOB_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


class JobKind(models.TextChoices):
    """Why a regeneration job runs, which also says what it covers."""

    RULES_PUBLISHED = "rules_published", "Rules published (every product of the plant)"
    RELEASE = "release", "Products released (too large to generate in the release)"
    ON_DEMAND = "on_demand", "Generated on demand"


class ReleaseGenerationStatus(models.TextChoices):
    """What a release did to one product's mBOM at one plant."""

    GENERATED = "generated", "Generated: a new mBOM version"
    UNCHANGED = "unchanged", "Unchanged: the current mBOM already matches"
    QUEUED = "queued", "Queued: a regeneration job generates it"
    NO_PUBLISHED_RULES = "no_published_rules", "Not generated: the plant has no published rules"
    NO_ERP_SYSTEM = "no_erp_system", "Generated, not sent: the plant has no ERP system"
