"""eBOM API shapes.

The push bodies are validated by `thread.bom.ebom.ingest` (shared with the admin import, and able
to name every bad line at once); the push serializers below only describe them in the OpenAPI
schema, so that both shapes, nested and flat, are documented field by field.
"""

from rest_framework import serializers

from thread.bom.choices import ItemType
from thread.bom.models import EBom, EBomLine, ReleaseGeneration
from thread.catalog.api.serializers import PartBriefSerializer
from thread.catalog.models import PartRevision

LINE_HELP = {
    "find_number": "Position under the parent, unique per parent (1…).",
    "part": "Child part number. Unknown parts are created (in design, base unit = this unit).",
    "name": "Name for a part the line creates; ignored for existing parts.",
    "quantity": "Decimal > 0, at most 6 decimal places; send it as a string to stay exact.",
    "unit": "Unit as written: code, name, plural or synonym (\"litres\", \"EA\"), an analyst's "
            "alias or the pushing system's own code; stored as Thread's unit. Must convert to "
            "the child part's base unit.",
    "reference_designators": "E.g. [\"R1\", \"R2\"].",
    "attributes": "Free JSON object the mapping rules can test (material, finish, supplier…).",
}


class _LineFields(serializers.Serializer):
    find_number = serializers.IntegerField(min_value=1, help_text=LINE_HELP["find_number"])
    part = serializers.CharField(max_length=64, help_text=LINE_HELP["part"])
    name = serializers.CharField(required=False, max_length=200, help_text=LINE_HELP["name"])
    quantity = serializers.DecimalField(max_digits=20, decimal_places=6,
                                        help_text=LINE_HELP["quantity"])
    unit = serializers.CharField(max_length=64, help_text=LINE_HELP["unit"])
    item_type = serializers.ChoiceField(choices=ItemType.choices)
    reference_designators = serializers.ListField(child=serializers.CharField(), required=False,
                                                  help_text=LINE_HELP["reference_designators"])
    attributes = serializers.DictField(required=False, help_text=LINE_HELP["attributes"])


class EBomNestedLineSerializer(_LineFields):
    revision = serializers.CharField(
        required=False, max_length=16,
        help_text="The child's revision: its `lines` become that revision's eBOM (created as a "
                  "draft if missing). Without it, `lines` go to the child's current draft "
                  "(`A` if it has no revision).")


# Recursive: a line's `lines` are lines of the same shape (drf-spectacular emits a $ref).
EBomNestedLineSerializer._declared_fields["lines"] = EBomNestedLineSerializer(
    many=True, required=False, help_text="The child's own eBOM (same shape, recursively).")


class _PushFields(serializers.Serializer):
    part = serializers.CharField(max_length=64, help_text="The top part number.")
    revision = serializers.CharField(required=False, max_length=16,
                                     help_text="The top revision; default: its current draft.")
    name = serializers.CharField(required=False, max_length=200,
                                 help_text="Name if the top part is new.")
    unit = serializers.CharField(required=False, max_length=64,
                                 help_text="Base unit if the top part is new (default pcs), "
                                           "written as a line's unit may be.")
    release = serializers.BooleanField(
        required=False, default=False,
        help_text="Release the top revision and every draft revision the push names.")
    reason = serializers.CharField(required=False, max_length=2000,
                                   help_text="Why: recorded on every snapshot and in history.")


class EBomNestedPushSerializer(_PushFields):
    lines = EBomNestedLineSerializer(many=True, help_text="The top revision's direct lines.")


class EBomRowSerializer(_LineFields):
    parent = serializers.CharField(max_length=64, help_text="Parent part number.")
    parent_revision = serializers.CharField(
        required=False, max_length=16,
        help_text="The parent's revision; default: the top's for the top part, else the "
                  "revision a row naming the parent as child gives, else its current draft.")
    revision = serializers.CharField(required=False, max_length=16,
                                     help_text="The child's revision (rows under it use it).")


class EBomFlatPushSerializer(_PushFields):
    rows = EBomRowSerializer(many=True, help_text="Parent-child rows, any order; the CSV/XLSX "
                                                  "import uses the same column names.")


class _Ref(serializers.Serializer):
    id = serializers.IntegerField()


class PushedPartSerializer(_Ref):
    number = serializers.CharField()


class PushedRevisionSerializer(_Ref):
    part = serializers.CharField(source="part.number")
    label = serializers.CharField()
    status = serializers.CharField()


class PushedEBomSerializer(_Ref):
    part = serializers.CharField(source="revision.part.number")
    revision = serializers.CharField(source="revision.label")
    number = serializers.IntegerField()
    line_count = serializers.IntegerField()


class _ProductRef(serializers.Serializer):
    id = serializers.IntegerField()
    part = serializers.CharField(source="part.number")
    label = serializers.CharField()


class _MBomVersionRef(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField()


class ReleaseGenerationSerializer(serializers.ModelSerializer):
    """What a release did to one product's mBOM at one plant."""

    plant = serializers.CharField(source="plant.code")
    product = _ProductRef()
    mbom_version = _MBomVersionRef(allow_null=True)
    job = serializers.IntegerField(source="job_id", allow_null=True,
                                   help_text="The regeneration job, when queued.")

    class Meta:
        model = ReleaseGeneration
        fields = ["plant", "product", "status", "mbom_version", "job", "detail"]


class EBomPushResultSerializer(serializers.Serializer):
    revision = PushedRevisionSerializer(source="top")
    changed = serializers.BooleanField()
    created_parts = PushedPartSerializer(many=True)
    created_revisions = PushedRevisionSerializer(many=True)
    snapshots = PushedEBomSerializer(many=True, help_text="New eBOM snapshots.")
    unchanged = PushedEBomSerializer(many=True, help_text="Current snapshots pushed again "
                                                          "unchanged (no new snapshot).")
    released = PushedRevisionSerializer(many=True)
    mboms = ReleaseGenerationSerializer(
        many=True, help_text="With release: per product and plant, what happened to its mBOM "
                             "(generated, unchanged, queued, or why not).")


class RevisionBriefSerializer(serializers.ModelSerializer):
    part = PartBriefSerializer(read_only=True)

    class Meta:
        model = PartRevision
        fields = ["id", "part", "label", "status"]


class EBomSerializer(serializers.ModelSerializer):
    revision = RevisionBriefSerializer(read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = EBom
        fields = ["id", "revision", "number", "is_current", "created_at", "created_by", "reason",
                  "inbound_message", "line_count", "fingerprint"]


class EBomLineSerializer(serializers.ModelSerializer):
    part = PartBriefSerializer(read_only=True)
    unit = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = EBomLine
        fields = ["id", "find_number", "part", "quantity", "unit", "item_type",
                  "reference_designators", "attributes"]


class EBomDetailSerializer(EBomSerializer):
    lines = EBomLineSerializer(many=True, read_only=True)

    class Meta(EBomSerializer.Meta):
        fields = [*EBomSerializer.Meta.fields, "lines"]


class OccurrenceSerializer(serializers.Serializer):
    level = serializers.IntegerField()
    path = serializers.ListField(child=serializers.IntegerField(),
                                 help_text="Find numbers from the top.")
    line_id = serializers.IntegerField(source="line.line_id")
    parent = serializers.CharField(source="line.parent_part")
    parent_revision = serializers.CharField(source="line.parent_revision")
    find_number = serializers.IntegerField(source="line.find_number")
    part = serializers.CharField(source="line.part")
    name = serializers.CharField(source="line.part_name")
    revision = serializers.CharField(allow_null=True,
                                     help_text="The child's revision in effect (none for parts "
                                               "without revisions).")
    quantity = serializers.DecimalField(max_digits=20, decimal_places=6, source="line.quantity")
    unit = serializers.CharField(source="line.unit")
    item_type = serializers.CharField(source="line.item_type")
    reference_designators = serializers.ListField(child=serializers.CharField(),
                                                  source="line.reference_designators")
    attributes = serializers.DictField(source="line.attributes")
    category = serializers.CharField(source="line.category")
    base_unit = serializers.CharField(source="line.base_unit")
    make_or_buy = serializers.CharField(source="line.make_or_buy")


class ExplosionSerializer(serializers.Serializer):
    part = serializers.CharField()
    revision = serializers.CharField()
    truncated = serializers.BooleanField()
    lines = OccurrenceSerializer(many=True)


class ExplosionQuerySerializer(serializers.Serializer):
    part = serializers.CharField(required=False, help_text="Part number (or part_id).")
    part_id = serializers.IntegerField(required=False)
    revision = serializers.CharField(required=False,
                                     help_text="Revision label; default: the one in effect.")
