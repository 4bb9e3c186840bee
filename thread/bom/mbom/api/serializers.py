"""mBOM API shapes: stored mBOMs and versions with their lineage, diffs, previews and the
accountability check. Lines of every kind (stored, proposed, diffed) are shown from the same
plain data (`thread.bom.mbom.diff.LineData`), so they look alike wherever they appear."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from thread.bom.ebom.api.serializers import RevisionBriefSerializer
from thread.bom.engine.serialise import decimal_text
from thread.bom.mbom import selectors as mbom_selectors
from thread.bom.models import MBom, MBomVersion, RegenerationJob
from thread.catalog.models import Plant


@extend_schema_field(OpenApiTypes.STR)
class PlainDecimalField(serializers.Field):
    """A Decimal as a plain-notation string without trailing zeros ("1.29", "1000")."""

    def to_representation(self, value):
        if value is None:
            return None
        # stored lineage may hold a number as JSON wrote it: served as a string all the same
        return decimal_text(value if isinstance(value, Decimal) else Decimal(str(value)))


class _PlantRef(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()


class _VersionRef(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField()


class EBomLineRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    ebom_id = serializers.IntegerField(allow_null=True)
    ebom_number = serializers.IntegerField(allow_null=True, required=False)
    parent_part = serializers.CharField(required=False)
    parent_revision = serializers.CharField(required=False)
    find_number = serializers.IntegerField(allow_null=True)
    part = serializers.CharField()
    quantity = PlainDecimalField(required=False)
    unit = serializers.CharField(required=False)


class RuleRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    order = serializers.IntegerField(allow_null=True)
    action = serializers.CharField(required=False)
    rule_set_version_id = serializers.IntegerField(required=False)
    rule_set_version = serializers.IntegerField(allow_null=True, required=False)
    plant = serializers.CharField(required=False)


class LineageSerializer(serializers.Serializer):
    paths = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField()),
                                  help_text="eBOM line ids of each feeding occurrence, from the "
                                            "made assembly down.")
    rule_ids = serializers.ListField(child=serializers.IntegerField(),
                                     help_text="The rules whose effect the line shows, in order.")
    sources = serializers.ListField(child=EBomLineRefSerializer(many=True),
                                    help_text="Each path's eBOM lines.")
    rules = RuleRefSerializer(many=True)


class MBomLineSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    part = serializers.CharField()
    quantity = PlainDecimalField()
    unit = serializers.CharField()
    item_type = serializers.CharField()
    make_or_buy = serializers.CharField()
    scrap_percent = PlainDecimalField(allow_null=True)
    yield_percent = PlainDecimalField(allow_null=True)
    operation = serializers.CharField(allow_blank=True)
    erp_fields = serializers.DictField()
    reference_designators = serializers.ListField(child=serializers.CharField())
    substitutes_for = serializers.CharField(allow_null=True)
    added_by_rule = serializers.IntegerField(allow_null=True)
    lineage = serializers.SerializerMethodField()

    @extend_schema_field(LineageSerializer)
    def get_lineage(self, line) -> dict[str, Any]:
        lookup = self.context["lineage"]
        return {**line.lineage, "sources": lookup.sources(line.lineage),
                "rules": lookup.rules_of(line.lineage)}


class MBomFieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    old = serializers.JSONField()
    new = serializers.JSONField()


class DiffEntrySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["added", "removed", "changed", "unchanged"])
    old = MBomLineSerializer(allow_null=True)
    new = MBomLineSerializer(allow_null=True)
    changes = serializers.SerializerMethodField()

    @extend_schema_field(MBomFieldChangeSerializer(many=True))
    def get_changes(self, entry) -> list[dict[str, Any]]:
        def plain(value):
            return PlainDecimalField().to_representation(value) if hasattr(value, "normalize") \
                else value
        return [{"field": c.field, "old": plain(c.old), "new": plain(c.new)}
                for c in entry.changes]


class DiffSummarySerializer(serializers.Serializer):
    added = serializers.IntegerField()
    removed = serializers.IntegerField()
    changed = serializers.IntegerField()
    unchanged = serializers.IntegerField()


class MBomSerializer(serializers.ModelSerializer):
    revision = RevisionBriefSerializer(read_only=True)
    plant = _PlantRef(read_only=True)
    current_version = serializers.SerializerMethodField()

    class Meta:
        model = MBom
        fields = ["id", "revision", "plant", "current_version", "created_at"]

    @extend_schema_field(_VersionRef(allow_null=True))
    def get_current_version(self, mbom) -> dict[str, Any] | None:
        if mbom.current_version_id is None:
            return None
        return {"id": mbom.current_version_id, "number": mbom.current_number}


class _RuleSetVersionRef(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()


class _CauseSerializer(serializers.Serializer):
    type = serializers.CharField()
    id = serializers.CharField()


class MBomVersionSerializer(serializers.ModelSerializer):
    plant = _PlantRef(source="mbom.plant", read_only=True)
    revision = RevisionBriefSerializer(source="mbom.revision", read_only=True)
    root = RevisionBriefSerializer(read_only=True)
    rule_set_version = _RuleSetVersionRef(read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    cause = serializers.SerializerMethodField()

    class Meta:
        model = MBomVersion
        fields = ["id", "mbom", "plant", "revision", "number", "is_current", "rule_set_version",
                  "as_of", "root", "line_count", "fingerprint", "content_hash", "cause",
                  "created_at", "created_by", "reason"]

    @extend_schema_field(_CauseSerializer(allow_null=True))
    def get_cause(self, version) -> dict[str, str] | None:
        if version.cause_type_id is None:
            return None
        return {"type": version.cause_type.model_class()._meta.label_lower,
                "id": version.cause_id}


class MBomVersionDetailSerializer(MBomVersionSerializer):
    lines = serializers.SerializerMethodField()

    class Meta(MBomVersionSerializer.Meta):
        fields = [*MBomVersionSerializer.Meta.fields, "resolved_revisions", "ebom_ids",
                  "set_aside", "warnings", "lines"]

    @extend_schema_field(MBomLineSerializer(many=True))
    def get_lines(self, version) -> list[dict[str, Any]]:
        return MBomLineSerializer(self.context["lines"], many=True, context=self.context).data


class MBomDiffSerializer(serializers.Serializer):
    old = MBomVersionSerializer()
    new = MBomVersionSerializer()
    summary = DiffSummarySerializer(source="diff.summary")
    entries = DiffEntrySerializer(source="diff.entries", many=True)


class PreviewAssemblySerializer(serializers.Serializer):
    part = serializers.CharField()
    revision = serializers.CharField(source="proposal.revision_label")
    revision_status = serializers.CharField(source="proposal.revision_status")
    would_store = serializers.BooleanField(
        help_text="Released, and its inputs differ from the current version's: publishing "
                  "(or generating) writes a new version.")
    fingerprint = serializers.CharField(source="proposal.fingerprint")
    current_version = _VersionRef(source="current", allow_null=True)
    summary = DiffSummarySerializer(source="diff.summary")
    entries = DiffEntrySerializer(source="diff.entries", many=True)


class WarningSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    assembly = serializers.CharField(allow_null=True)
    line_id = serializers.IntegerField(allow_null=True)
    rule_id = serializers.IntegerField(allow_null=True)


class ProblemSerializer(serializers.Serializer):
    message = serializers.CharField()
    line_id = serializers.IntegerField(allow_null=True)
    assembly = serializers.CharField(allow_null=True)
    path = serializers.ListField(child=serializers.IntegerField())
    part = serializers.CharField(allow_null=True)
    parent = serializers.CharField(allow_null=True)
    find_number = serializers.IntegerField(allow_null=True)


class MismatchSerializer(serializers.Serializer):
    part = serializers.CharField()
    unit = serializers.CharField()
    ebom_quantity = PlainDecimalField()
    mbom_quantity = PlainDecimalField()


class AccountabilitySerializer(serializers.Serializer):
    revision = RevisionBriefSerializer()
    plant = _PlantRef()
    rule_set_version = _RuleSetVersionRef(allow_null=True,
                                          help_text="None: the stored mBOMs were checked.")
    ok = serializers.BooleanField()
    problems = ProblemSerializer(many=True)
    mismatches = MismatchSerializer(many=True)
    warnings = WarningSerializer(many=True)


class PreviewSerializer(serializers.Serializer):
    revision = RevisionBriefSerializer()
    plant = _PlantRef()
    rule_set_version = _RuleSetVersionRef()
    as_of = serializers.DateField()
    assemblies = PreviewAssemblySerializer(many=True)
    warnings = WarningSerializer(many=True)
    accountability = AccountabilitySerializer()


class MBomQuerySerializer(serializers.Serializer):
    part = serializers.CharField(required=False, help_text="Part number (or part_id).")
    part_id = serializers.IntegerField(required=False)
    revision = serializers.CharField(required=False,
                                     help_text="Revision label; default: the one in effect "
                                               "(drafts where nothing is released).")
    plant = serializers.CharField(help_text="Plant code.")
    rule_set_version = serializers.IntegerField(
        required=False, help_text="Rule-set version id (a draft too); default: the plant's "
                                  "published version (preview) or the stored mBOMs "
                                  "(accountability).")
    as_of = serializers.DateField(required=False,
                                  help_text="Resolve revisions as of this date (plant time "
                                            "zone); default: today at the plant.")

    def validate(self, attrs):
        if "part" not in attrs and "part_id" not in attrs:
            raise serializers.ValidationError({"part": "Give part or part_id."})
        return attrs


class DiffQuerySerializer(serializers.Serializer):
    against = serializers.IntegerField(help_text="The id of the older version to compare with.")


# --- Generating on demand, and the jobs that do it --------------------------------------------


class _JobProductRef(serializers.Serializer):
    id = serializers.IntegerField()
    part = serializers.CharField(source="part.number")
    label = serializers.CharField()


class RegenerationJobSerializer(serializers.ModelSerializer):
    plant = serializers.CharField(source="plant.code")
    rule_set_version = _VersionRef()
    products = _JobProductRef(many=True, read_only=True,
                              help_text="The products it regenerates; empty: every product of "
                                        "the plant (after a publish).")
    percent = serializers.IntegerField()
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True,
                                              allow_null=True)

    class Meta:
        model = RegenerationJob
        fields = ["id", "plant", "kind", "status", "rule_set_version", "products", "total", "done",
                  "percent", "changed", "sent", "error_count", "errors", "created_at",
                  "created_by", "reason", "started_at", "finished_at"]


class GenerateSerializer(serializers.Serializer):
    """Which revision to generate, where, and why."""

    part = serializers.CharField(max_length=64, help_text="Part number of the product.")
    revision = serializers.CharField(required=False, max_length=16,
                                     help_text="Revision label; default: the newest release.")
    plants = serializers.ListField(child=serializers.CharField(max_length=16), required=False,
                                   allow_empty=False,
                                   help_text="Plant codes; default: the plants that make it.")
    reason = serializers.CharField(max_length=2000, help_text="Why: recorded with your name.")

    def validate(self, attrs):
        label = attrs.get("revision")
        part, revision = mbom_selectors.revision_to_generate(part_number=attrs["part"],
                                                             label=label)
        if part is None:
            raise serializers.ValidationError({"part": f"Unknown part {attrs['part']!r}."})
        if revision is None:
            raise serializers.ValidationError({"revision": (
                f"{part.number} has no revision {label!r}." if label
                else f"{part.number} has no released revision.")})
        attrs["revision"] = revision
        if "plants" in attrs:
            found = {p.code: p for p in Plant.objects.filter(code__in=attrs["plants"])}
            unknown = {str(i): [f"Unknown plant {code!r}."]
                       for i, code in enumerate(attrs["plants"]) if code not in found}
            if unknown:
                raise serializers.ValidationError({"plants": unknown})
            attrs["plants"] = [found[code] for code in dict.fromkeys(attrs["plants"])]
        return attrs


class GeneratedSerializer(serializers.Serializer):
    jobs = RegenerationJobSerializer(many=True)
