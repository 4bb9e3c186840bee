"""What a change order hits, and the flags its release raises on the orders it hits. The routes
live under /api/v1/changes/; the same views still answer at their first home under
/api/v1/orders/ (marked deprecated in the schema, see `deprecated_urls`)."""

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from thread.flows.choices import SystemKind
from thread.flows.idempotency import idempotent

from .. import flags, selectors
from ..filtersets import ImpactFlagFilterSet
from ..impact import change_order_impact
from . import impact_serializers as s

ERP = frozenset({SystemKind.ERP})


class ImpactFlagViewSet(viewsets.ReadOnlyModelViewSet):
    """Flags a released change order raised on the open orders it hits. The ERP (its planners)
    or people acknowledge a flag, then resolve it, each with a note."""

    queryset = selectors.impact_flags_list()
    serializer_class = s.ImpactFlagSerializer
    filterset_class = ImpactFlagFilterSet
    search_fields = ["change_order__number", "purchase_order__number",
                     "production_order__number"]
    system_read_kinds = ERP
    system_push_kinds = ERP
    required_perms = None  # people: model permissions; actions set their own (CallerRights)

    @extend_schema(request=s.NoteSerializer, responses={200: s.ImpactFlagSerializer})
    @action(detail=True, methods=["post"], required_perms={"*": ["changes.change_impactflag"]})
    @idempotent()
    def acknowledge(self, request, pk=None):
        return self._move(request, flags.impact_flag_acknowledge)

    @extend_schema(request=s.NoteSerializer, responses={200: s.ImpactFlagSerializer})
    @action(detail=True, methods=["post"], required_perms={"*": ["changes.change_impactflag"]})
    @idempotent()
    def resolve(self, request, pk=None):
        return self._move(request, flags.impact_flag_resolve)

    def _move(self, request, service) -> Response:
        flag = self.get_object()
        data = s.NoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        flag = service(flag=flag, actor=request.user, note=data.validated_data["note"])
        return Response(s.ImpactFlagSerializer(self.get_queryset().get(pk=flag.pk)).data)


class ImpactView(APIView):
    """What a change order hits as things stand now: per affected item, where it is used up to
    the top-level products, the open purchase and production orders it reaches with their dates
    against the effectivity (plant-local), and the current mBOMs that will change per plant."""

    required_perms = {"GET": ["changes.view_changeorder"]}
    system_read_kinds = frozenset({SystemKind.PLM, SystemKind.ERP})

    @extend_schema(parameters=[s.ImpactQuerySerializer], responses={200: s.ImpactSerializer},
                   operation_id="changes_impact")
    def get(self, request):
        query = s.ImpactQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        change_order = selectors.change_order_by_key(query.validated_data["change_order"])
        if change_order is None:
            raise NotFound(f"No change order {query.validated_data['change_order']!r}.")
        return Response(s.ImpactSerializer(change_order_impact(change_order=change_order)).data)
