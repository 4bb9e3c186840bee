"""eBOM pushes (from the PLM) and reads: snapshots and exploded structures."""

from django.conf import settings
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from thread.api.parsers import DecimalJSONParser
from thread.bom.ebom import selectors, services
from thread.bom.ebom.api import serializers as s
from thread.bom.ebom.filtersets import EBomFilterSet
from thread.bom.models import EBomLine
from thread.catalog.models import Part, PartRevision
from thread.flows.choices import SystemKind
from thread.flows.idempotency import idempotent
from thread.flows.permissions import calling_system
from thread.flows.reasons import push_reason

READERS = frozenset({SystemKind.PLM, SystemKind.ERP})

PUSH_BODY = PolymorphicProxySerializer(
    component_name="EBomPush",
    serializers=[s.EBomNestedPushSerializer, s.EBomFlatPushSerializer],
    resource_type_field_name=None,
)


class EBomViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """eBOM snapshots. POST pushes a whole multi-level structure, nested (`lines`) or flat
    (`rows`), atomically: every draft revision whose lines changed gets a new snapshot, a
    released revision's eBOM never changes (409), and every bad line is named by a JSON
    pointer in the problem response. Up to THREAD_MAX_EBOM_LINES lines, else 413."""

    queryset = selectors.eboms_list()
    serializer_class = s.EBomSerializer
    filterset_class = EBomFilterSet
    search_fields = ["revision__part__number"]
    parser_classes = [DecimalJSONParser]
    system_push_kinds = frozenset({SystemKind.PLM})
    system_read_kinds = READERS

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "retrieve":
            lines = EBomLine.objects.select_related("part", "unit").order_by("find_number")
            queryset = queryset.prefetch_related(Prefetch("lines", queryset=lines))
        return queryset

    def get_serializer_class(self):
        return s.EBomDetailSerializer if self.action == "retrieve" else s.EBomSerializer

    @extend_schema(request=PUSH_BODY, responses={201: s.EBomPushResultSerializer,
                                                 200: s.EBomPushResultSerializer})
    @idempotent(max_bytes_setting="THREAD_MAX_BULK_REQUEST_BYTES")
    def create(self, request, *args, **kwargs):
        payload = request.data
        given = payload.get("reason") if isinstance(payload, dict) else None
        releases = isinstance(payload, dict) and payload.get("release") is True
        system = calling_system(request)
        if releases and system is None and not request.user.has_perm(
                "catalog.release_partrevision"):
            raise PermissionDenied("Releasing a structure needs the right to release revisions.")
        result = services.ebom_push(
            payload=payload, actor=request.user,
            reason=push_reason(request, given if isinstance(given, str) else ""),
            inbound_message=getattr(request, "inbound_message", None), system=system)
        return Response(s.EBomPushResultSerializer(result).data,
                        status=status.HTTP_201_CREATED if result.changed else status.HTTP_200_OK)


def revision_or_404(part: Part, *, label: str | None = None, as_of=None) -> PartRevision:
    revision = selectors.revision_to_show(part=part, label=label, as_of=as_of)
    if revision is None:
        raise Http404(f"{part.number} has no revision {label}." if label
                      else f"{part.number} has no revision.")
    return revision


class ExplosionView(APIView):
    """The multi-level structure of a part revision, every occurrence depth-first. Children
    resolve to their revision in effect (drafts where nothing is released, for previews)."""

    required_perms = {"GET": ["bom.view_ebom"]}
    system_read_kinds = READERS

    @extend_schema(parameters=[s.ExplosionQuerySerializer], responses={200: s.ExplosionSerializer},
                   operation_id="bom_explosion")
    def get(self, request):
        query = s.ExplosionQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        lookup = {"pk": params["part_id"]} if "part_id" in params else {
            "number": params.get("part", "")}
        part = get_object_or_404(Part, **lookup)
        revision = revision_or_404(part, label=params.get("revision"))
        structure = selectors.explode(revision=revision)
        limit = settings.THREAD_MAX_EBOM_LINES
        occurrences = list(structure.walk(limit=limit + 1))
        body = {"part": part.number, "revision": revision.label,
                "truncated": len(occurrences) > limit, "lines": occurrences[:limit]}
        return Response(s.ExplosionSerializer(body).data)
