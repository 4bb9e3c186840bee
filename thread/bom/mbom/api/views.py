"""mBOM reads for PLM and ERP systems and people: stored mBOMs and versions with lineage, the
diff between two versions, the preview of a rule-set version (a draft too) and the
accountability check. Previews and checks are computations that write nothing, so they are
GETs with query parameters (cacheable, no Idempotency-Key needed)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from thread.bom.ebom.api.views import READERS, revision_or_404
from thread.bom.mbom import generation as mbom_generation
from thread.bom.mbom import preview as mbom_preview
from thread.bom.mbom import selectors as mbom_selectors
from thread.bom.mbom.api import serializers as s
from thread.bom.mbom.filtersets import MBomFilterSet, MBomVersionFilterSet
from thread.bom.models import MappingRuleSetVersion
from thread.catalog.models import Part, PartRevision, Plant


class MBomViewSet(viewsets.ReadOnlyModelViewSet):
    """The mBOM of each made part revision per plant, with its current version."""

    queryset = mbom_selectors.mboms_list()
    serializer_class = s.MBomSerializer
    filterset_class = MBomFilterSet
    search_fields = ["revision__part__number"]
    system_read_kinds = READERS


class MBomVersionViewSet(viewsets.ReadOnlyModelViewSet):
    """mBOM versions: which rules, as of when, why and by whom. One version (retrieve) comes with
    its lines, each with its lineage resolved to the eBOM lines and rules behind it."""

    queryset = mbom_selectors.mbom_versions_list()
    serializer_class = s.MBomVersionSerializer
    filterset_class = MBomVersionFilterSet
    search_fields = ["mbom__revision__part__number"]
    system_read_kinds = READERS

    def get_serializer_class(self):
        return s.MBomVersionDetailSerializer if self.action == "retrieve" else \
            s.MBomVersionSerializer

    @extend_schema(responses={200: s.MBomVersionDetailSerializer})
    def retrieve(self, request, *args, **kwargs):
        version = self.get_object()
        lines = [mbom_selectors.line_data(line)
                 for line in mbom_selectors.mbom_lines(version_ids=[version.pk])]
        lookup = mbom_selectors.lineage_lookup(lineages=[line.lineage for line in lines])
        context = {**self.get_serializer_context(), "lines": lines, "lineage": lookup}
        return Response(s.MBomVersionDetailSerializer(version, context=context).data)

    @extend_schema(parameters=[s.DiffQuerySerializer], responses={200: s.MBomDiffSerializer})
    @action(detail=True, methods=["get"])
    def diff(self, request, pk=None):
        """What changed from version `against` to this one: lines added, removed and changed
        (quantity, unit, make/buy, operation, scrap, ERP fields), matched by part."""
        new = self.get_object()
        query = s.DiffQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        old = get_object_or_404(self.get_queryset(), pk=query.validated_data["against"])
        diff = mbom_preview.mbom_version_diff(old=old, new=new)
        lookup = mbom_selectors.lineage_lookup(lineages=[e.line.lineage for e in diff.entries])
        return Response(s.MBomDiffSerializer({"old": old, "new": new, "diff": diff},
                                             context={"lineage": lookup}).data)


def _target(params) -> tuple[PartRevision, Plant, MappingRuleSetVersion | None]:
    lookup = {"pk": params["part_id"]} if "part_id" in params else {"number": params["part"]}
    part = get_object_or_404(Part, **lookup)
    plant = get_object_or_404(Plant.objects.select_related("erp_system"), code=params["plant"])
    revision = revision_or_404(part, label=params.get("revision"), as_of=params.get("as_of"))
    version = None
    if "rule_set_version" in params:
        version = get_object_or_404(mbom_selectors.rule_set_versions_list(),
                                    pk=params["rule_set_version"])
    return revision, plant, version


class MBomPreviewView(APIView):
    """What a rule-set version (a draft too; default: the plant's published one) would make of a
    part revision (a draft too) at a plant, per made assembly, next to the current stored mBOM,
    with the diff, every line's lineage and the accountability check. Writes nothing."""

    required_perms = {"GET": ["bom.view_mbom"]}
    system_read_kinds = READERS

    @extend_schema(parameters=[s.MBomQuerySerializer], responses={200: s.PreviewSerializer},
                   operation_id="bom_mbom_preview")
    def get(self, request):
        query = s.MBomQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        revision, plant, version = _target(query.validated_data)
        preview = mbom_preview.mbom_preview(
            revision=revision, plant=plant,
            rule_set_version=version or mbom_generation.published_version_for(plant),
            as_of=query.validated_data.get("as_of"))
        return Response(s.PreviewSerializer(preview, context={"lineage": preview.lineage}).data)


class AccountabilityView(APIView):
    """For a part revision and plant: eBOM lines that end nowhere (neither in an mBOM line nor
    excluded by a rule, flattened or inside a bought item) and quantities that differ between
    the eBOM explosion and the mBOMs. With `rule_set_version`: a fresh mapping with those rules;
    without: the stored current mBOMs."""

    required_perms = {"GET": ["bom.view_mbom"]}
    system_read_kinds = READERS

    @extend_schema(parameters=[s.MBomQuerySerializer], responses={200: s.AccountabilitySerializer},
                   operation_id="bom_accountability")
    def get(self, request):
        query = s.MBomQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        revision, plant, version = _target(query.validated_data)
        report = mbom_preview.accountability(revision=revision, plant=plant,
                                           rule_set_version=version,
                                           as_of=query.validated_data.get("as_of"))
        return Response(s.AccountabilitySerializer(report).data)


class RegenerationJobViewSet(viewsets.ReadOnlyModelViewSet):
    """mBOM regeneration jobs and their progress: after a rule-set publish (every product of the
    plant), after a release too large to generate in its own transaction, and on demand."""

    queryset = mbom_selectors.regeneration_jobs_list().prefetch_related("products__part")
    serializer_class = s.RegenerationJobSerializer
    filterset_fields = ["status", "kind"]
    system_read_kinds = READERS
