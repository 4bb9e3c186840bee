from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from thread.api.parsers import DecimalJSONParser
from thread.errors import invalid
from thread.flows.choices import SystemKind
from thread.flows.idempotency import idempotent
from thread.flows.permissions import calling_system
from thread.flows.reasons import push_reason

from .. import selectors, services
from ..filtersets import ChangeOrderFilterSet
from ..models import ChangeOrder, ChangeOrderEvent
from . import serializers as s

READERS = frozenset({SystemKind.PLM, SystemKind.ERP})
NOBODY = frozenset()  # workflow actions are people's work (admin session), not a system's


class ChangeOrderViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Engineering change orders with their affected items and approvals. A PLM pushes a change
    order (POST) with its affected items, each new revision's eBOM and, when it approves in the
    PLM, its approvals, atomically. People run the workflow: submit, approve a stage, reject,
    release, cancel, each with a reason. `diff/` previews what the change does to each eBOM and
    to each plant's mBOMs."""

    queryset = selectors.change_orders_list()
    serializer_class = s.ChangeOrderSerializer
    filterset_class = ChangeOrderFilterSet
    search_fields = ["number", "title"]
    parser_classes = [DecimalJSONParser]
    system_push_kinds = frozenset({SystemKind.PLM})
    system_read_kinds = READERS
    required_perms = None  # people: model permissions; actions set their own (CallerRights)

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "retrieve":
            events = ChangeOrderEvent.objects.select_related("actor").order_by("at", "id")
            queryset = queryset.prefetch_related(Prefetch("events", queryset=events))
        return queryset

    def get_serializer_class(self):
        return s.ChangeOrderDetailSerializer if self.action == "retrieve" \
            else s.ChangeOrderSerializer

    def _answer(self, change_order: ChangeOrder, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().prefetch_related("events").get(pk=change_order.pk)
        return Response(s.ChangeOrderDetailSerializer(fresh).data, status=code)

    @extend_schema(request=s.ChangeOrderPushSerializer,
                   responses={201: s.ChangeOrderDetailSerializer})
    @idempotent(max_bytes_setting="THREAD_MAX_BULK_REQUEST_BYTES")
    def create(self, request, *args, **kwargs):
        system = calling_system(request)
        if system is None:
            raise PermissionDenied("Change orders are pushed by a PLM; people create them in "
                                   "the admin.")
        data = s.ChangeOrderPushSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change_order = services.change_order_push(
            push=data.to_push(), system=system, actor=request.user,
            reason=push_reason(request, data.validated_data.get("reason", "")),
            inbound_message=getattr(request, "inbound_message", None))
        return self._answer(change_order, status.HTTP_201_CREATED)

    @extend_schema(request=s.ReasonSerializer, responses={200: s.ChangeOrderDetailSerializer})
    @action(detail=True, methods=["post"], system_push_kinds=NOBODY,
            required_perms={"*": ["changes.change_changeorder"]})
    @idempotent()
    def submit(self, request, pk=None):
        return self._transition(request, services.change_order_submit)

    @extend_schema(request=s.ApproveSerializer, responses={200: s.ChangeOrderDetailSerializer})
    @action(detail=True, methods=["post"], system_push_kinds=NOBODY,
            required_perms={"*": ["changes.view_changeorder"]})
    @idempotent()
    def approve(self, request, pk=None):
        change_order = self.get_object()
        data = s.ApproveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change_order = services.change_order_approve_stage(
            change_order=change_order, actor=request.user,
            stage=self._stage(change_order, data.validated_data["stage"]),
            comment=data.validated_data["comment"])
        return self._answer(change_order)

    @extend_schema(request=s.RejectSerializer, responses={200: s.ChangeOrderDetailSerializer})
    @action(detail=True, methods=["post"], system_push_kinds=NOBODY,
            required_perms={"*": ["changes.view_changeorder"]})
    @idempotent()
    def reject(self, request, pk=None):
        change_order = self.get_object()
        data = s.RejectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data.get("stage")
        change_order = services.change_order_reject(
            change_order=change_order, actor=request.user, reason=data.validated_data["reason"],
            stage=self._stage(change_order, given) if given else None)
        return self._answer(change_order)

    @extend_schema(request=s.ReasonSerializer, responses={200: s.ChangeOrderDetailSerializer})
    @action(detail=True, methods=["post"], system_push_kinds=NOBODY,
            required_perms={"*": ["changes.release_changeorder"]})
    @idempotent()
    def release(self, request, pk=None):
        return self._transition(request, services.change_order_release)

    @extend_schema(request=s.ReasonSerializer, responses={200: s.ChangeOrderDetailSerializer})
    @action(detail=True, methods=["post"], system_push_kinds=NOBODY,
            required_perms={"*": ["changes.change_changeorder"]})
    @idempotent()
    def cancel(self, request, pk=None):
        return self._transition(request, services.change_order_cancel)

    @extend_schema(responses={200: s.ChangeOrderDiffSerializer})
    @action(detail=True, methods=["get"], required_perms={"GET": ["changes.view_changeorder"]})
    def diff(self, request, pk=None):
        change_order = self.get_object()
        body = {"number": change_order.number, "status": change_order.status,
                "items": selectors.change_order_diff(change_order=change_order)}
        return Response(s.ChangeOrderDiffSerializer(body).data)

    def _transition(self, request, service) -> Response:
        change_order = self.get_object()
        data = s.ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change_order = service(change_order=change_order, actor=request.user,
                               reason=data.validated_data["reason"])
        return self._answer(change_order)

    @staticmethod
    def _stage(change_order: ChangeOrder, key: str):
        stage = selectors.stage_by_key(change_type=change_order.change_type, key=key)
        if stage is None:
            raise invalid("/stage", "unknown_stage",
                          f"{change_order.change_type} has no stage {key!r}.")
        return stage


class ChangeOrderTypeViewSet(viewsets.ReadOnlyModelViewSet):
    """Change order types with their approval stages (in order) and the groups approving each."""

    queryset = selectors.change_order_types_list()
    serializer_class = s.ChangeOrderTypeSerializer
    search_fields = ["code", "name"]
    system_read_kinds = READERS
