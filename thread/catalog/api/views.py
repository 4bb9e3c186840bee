from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from thread.flows.choices import SystemKind
from thread.flows.idempotency import idempotent
from thread.flows.reasons import push_reason

from .. import selectors, services
from ..filtersets import (
    PartFilterSet,
    PartRevisionFilterSet,
    PlantFilterSet,
    SystemUnitCodeFilterSet,
    UnitAliasFilterSet,
    UnitFilterSet,
)
from . import serializers as s

PLM_ONLY = frozenset({SystemKind.PLM})


def upsert_response(request, push_serializer, upsert, read_serializer) -> Response:
    """Validate a push, hand it to an upsert service, answer 201 (created) or 200 (updated)."""
    data = push_serializer(data=request.data, context={"request": request})
    data.is_valid(raise_exception=True)
    fields = dict(data.validated_data)
    reason = push_reason(request, fields.pop("reason", ""))
    instance, created = upsert(actor=request.user, reason=reason, **fields)
    return Response(read_serializer(instance).data,
                    status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class UnitViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = selectors.units_list()
    serializer_class = s.UnitSerializer
    filterset_class = UnitFilterSet
    search_fields = ["code", "name"]


class UnitAliasViewSet(viewsets.ReadOnlyModelViewSet):
    """The analysts' spellings of units (added in the admin); the built-in ones are in
    docs/ebom-ingest.md, "How units are recognised"."""

    queryset = selectors.unit_aliases_list()
    serializer_class = s.UnitAliasSerializer
    filterset_class = UnitAliasFilterSet
    search_fields = ["alias"]


class SystemUnitCodeViewSet(viewsets.ReadOnlyModelViewSet):
    """Each external system's own unit codes: read on the system's pushes, and written on what
    Thread sends it (`outbound`)."""

    queryset = selectors.system_unit_codes_list()
    serializer_class = s.SystemUnitCodeSerializer
    filterset_class = SystemUnitCodeFilterSet
    search_fields = ["code"]


class PlantViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = selectors.plants_list()
    serializer_class = s.PlantSerializer
    filterset_class = PlantFilterSet
    search_fields = ["code", "name"]


class PartViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Parts. A PLM pushes the whole part: POST creates it (201) or applies what differs (200)."""

    queryset = selectors.parts_list()
    serializer_class = s.PartSerializer
    filterset_class = PartFilterSet
    search_fields = ["number", "name"]
    system_push_kinds = PLM_ONLY

    @extend_schema(request=s.PartPushSerializer, responses={201: s.PartSerializer,
                                                            200: s.PartSerializer})
    @idempotent()
    def create(self, request, *args, **kwargs):
        return upsert_response(request, s.PartPushSerializer, services.part_upsert,
                               s.PartSerializer)


class PartRevisionViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Part revisions. POST creates a draft revision or updates a draft's description and
    attributes; a released revision answers 409 if the push would change it. The release
    (`{id}/release/`) is answered by bom, since it generates mBOMs (config/urls.py)."""

    queryset = selectors.revisions_list()
    serializer_class = s.PartRevisionSerializer
    filterset_class = PartRevisionFilterSet
    search_fields = ["part__number", "label"]
    system_push_kinds = PLM_ONLY
    required_perms = None  # actions set their own (see CallerRights)

    @extend_schema(request=s.PartRevisionPushSerializer,
                   responses={201: s.PartRevisionSerializer, 200: s.PartRevisionSerializer})
    @idempotent()
    def create(self, request, *args, **kwargs):
        return upsert_response(request, s.PartRevisionPushSerializer, services.revision_upsert,
                               s.PartRevisionSerializer)
