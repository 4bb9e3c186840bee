from django.db import models


class ItemType(models.TextChoices):
    """What an eBOM line is. The mapping rules decide what each becomes in a plant's mBOM
    (a phantom is flattened, a document is not built, bulk is not counted per unit)."""

    COMPONENT = "component", "Component"
    PHANTOM = "phantom", "Phantom / kit"
    DOCUMENT = "document", "Reference only / document"
    SOFTWARE = "software", "Software"
    BULK = "bulk", "Bulk / as required"
