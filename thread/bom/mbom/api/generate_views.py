"""Writes that end in mBOMs: a revision's release (which generates its products' mBOMs at the
plants that make them) and an analyst's "generate now". The release route keeps its catalog
address, /api/v1/catalog/part-revisions/{id}/release/, but is served here: its answer says
what happened to the mBOMs, which the catalog cannot know (it may not import bom)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from thread.bom.ebom.api.serializers import ReleaseGenerationSerializer
from thread.bom.ebom.selectors import release_generations
from thread.bom.mbom import selectors as mbom_selectors
from thread.bom.mbom import services
from thread.bom.mbom.api import serializers as s
from thread.catalog import selectors as catalog_selectors
from thread.catalog import services as catalog
from thread.catalog.api.serializers import PartRevisionSerializer, ReleaseSerializer
from thread.flows.choices import SystemKind
from thread.flows.idempotency import idempotent


class RevisionReleasedSerializer(PartRevisionSerializer):
    mboms = ReleaseGenerationSerializer(
        many=True, read_only=True, source="release_outcomes",
        help_text="Per product and plant, what the release did to its mBOM: generated, "
                  "unchanged, queued (with the job), or why not.")

    class Meta(PartRevisionSerializer.Meta):
        fields = [*PartRevisionSerializer.Meta.fields, "mboms"]


class RevisionReleaseView(APIView):
    """draft → released; earlier releases become superseded. The released product's mBOMs —
    or, for a sub-assembly, those of the products above it — are generated at every plant that
    makes them in the same transaction, and each changed mBOM's message to the plant's ERP is
    written with it (docs/mbom.md, "When mBOMs are generated")."""

    system_push_kinds = frozenset({SystemKind.PLM})
    required_perms = {"POST": ["catalog.release_partrevision"]}

    @extend_schema(request=ReleaseSerializer, responses={200: RevisionReleasedSerializer},
                   operation_id="catalog_part_revisions_release")
    @idempotent()
    def post(self, request, pk: int):
        revision = get_object_or_404(catalog_selectors.revisions_list(), pk=pk)
        data = ReleaseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        revision = catalog.revision_release(revision=revision, actor=request.user,
                                            reason=data.validated_data["reason"])
        revision = catalog_selectors.revisions_list().get(pk=revision.pk)
        revision.release_outcomes = release_generations(revision_ids=[revision.pk])
        return Response(RevisionReleasedSerializer(revision).data)


class MBomGenerateView(APIView):
    """Generate now: apply each plant's published rules to a released revision without
    publishing rules, as a regeneration job per plant (202, with the jobs to follow at
    `regeneration-jobs/`). For people in the analyst or change manager group; no system may
    trigger it. Inputs that did not change write no new mBOM version."""

    system_push_kinds = frozenset()
    required_perms = {"POST": ["bom.generate_mbom"]}

    @extend_schema(request=s.GenerateSerializer, responses={202: s.GeneratedSerializer})
    @idempotent()
    def post(self, request):
        data = s.GenerateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        jobs = services.mboms_generate_on_demand(
            revision=given["revision"], plants=given.get("plants"), actor=request.user,
            reason=given["reason"])
        jobs = list(mbom_selectors.regeneration_jobs_list().filter(pk__in=[j.pk for j in jobs]))
        return Response(s.GeneratedSerializer({"jobs": jobs}).data,
                        status=status.HTTP_202_ACCEPTED)

