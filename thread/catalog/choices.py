from django.db import models


class Dimension(models.TextChoices):
    COUNT = "count", "Count"
    LENGTH = "length", "Length"
    MASS = "mass", "Mass"
    VOLUME = "volume", "Volume"
    AREA = "area", "Area"
    TIME = "time", "Time"


class MakeOrBuy(models.TextChoices):
    MAKE = "make", "Make"
    BUY = "buy", "Buy"


class LifecycleState(models.TextChoices):
    IN_DESIGN = "in_design", "In design"
    ACTIVE = "active", "Active"
    OBSOLETE = "obsolete", "Obsolete"


class RevisionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    RELEASED = "released", "Released"
    SUPERSEDED = "superseded", "Superseded"
    OBSOLETE = "obsolete", "Obsolete"


class CrossReferenceKind(models.TextChoices):
    PLM_ITEM = "plm_item", "PLM item id"
    ERP_MATERIAL = "erp_material", "ERP material number"
    MES_MATERIAL = "mes_material", "MES material id"
    PLANT = "plant", "Plant id"


class WorkOrderFormat(models.TextChoices):
    """The document a plant's MES takes (docs/work-orders.md, "Formats")."""

    B2MML = "b2mml", "B2MML V0701 XML"
    JSON = "json", "B2MML-JSON"


class WorkOrderTiming(models.TextChoices):
    """When a released production order reaches the plant's MES."""

    ON_RELEASE = "on_release", "On release"
    SHIFT_START = "shift_start", "At shift start (batched)"


class LateRelease(models.TextChoices):
    """What happens to an order released after its shift's batch has gone (shift-start
    timing)."""

    NEXT_BATCH = "next_batch", "With the next shift's batch"
    AT_ONCE = "at_once", "At once"
