from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from thread.api.parsers import DecimalJSONParser
from thread.flows.choices import SystemKind
from thread.flows.idempotency import idempotent
from thread.flows.permissions import calling_system
from thread.flows.reasons import push_reason

from .. import selectors, services
from ..filtersets import ProductionOrderFilterSet, PurchaseOrderFilterSet
from . import serializers as s

ERP = frozenset({SystemKind.ERP})


class _OrderPushMixin:
    """POST of a list of orders: the ERP's bulk upsert, one transaction, answered with what
    was created (201 if anything was), updated and left unchanged."""

    parser_classes = [DecimalJSONParser]
    system_push_kinds = ERP
    required_perms = None  # people: model permissions; actions set their own (CallerRights)

    def _push(self, request, push_serializer, upsert) -> Response:
        system = calling_system(request)
        if system is None:
            raise PermissionDenied("Orders are pushed by their ERP.")
        data = push_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = upsert(system=system, orders=data.to_inputs(), actor=request.user,
                        reason=push_reason(request, data.validated_data.get("reason", "")))
        return Response(s.UpsertResultSerializer(result).data,
                        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)

    def _status(self, request, serializer, service) -> Response:
        order = self.get_object()
        data = serializer(data=request.data)
        data.is_valid(raise_exception=True)
        service(order=order, status=data.validated_data["status"],
                erp_status=data.validated_data["erp_status"], actor=request.user,
                reason=push_reason(request, data.validated_data.get("reason", "")))
        return Response(self.get_serializer(self.get_queryset().get(pk=order.pk)).data)


class PurchaseOrderViewSet(_OrderPushMixin, mixins.CreateModelMixin,
                           viewsets.ReadOnlyModelViewSet):
    """The ERP's open purchase orders as Thread mirrors them. POST `{"orders": [...]}` upserts
    by the ERP's number (lines replaced as sent); orders not sent stay as they are."""

    queryset = selectors.purchase_orders_list()
    serializer_class = s.PurchaseOrderSerializer
    filterset_class = PurchaseOrderFilterSet
    search_fields = ["number", "supplier"]
    system_read_kinds = ERP

    @extend_schema(request=s.PurchaseOrdersPushSerializer,
                   responses={201: s.UpsertResultSerializer, 200: s.UpsertResultSerializer})
    @idempotent(max_bytes_setting="THREAD_MAX_BULK_REQUEST_BYTES")
    def create(self, request, *args, **kwargs):
        return self._push(request, s.PurchaseOrdersPushSerializer,
                          services.purchase_orders_upsert)

    @extend_schema(request=s.PurchaseStatusSerializer, responses={200: s.PurchaseOrderSerializer})
    @action(detail=True, methods=["post"], url_path="status",
            required_perms={"*": ["orders.change_purchaseorder"]})
    @idempotent()
    def set_status(self, request, pk=None):
        return self._status(request, s.PurchaseStatusSerializer,
                            services.purchase_order_status_set)


class ProductionOrderViewSet(_OrderPushMixin, mixins.CreateModelMixin,
                             viewsets.ReadOnlyModelViewSet):
    """The ERP's production orders, each with the part revision and mBOM version it resolves to
    on its plant-local planned start. POST `{"orders": [...]}` upserts by the ERP's number."""

    queryset = selectors.production_orders_list()
    serializer_class = s.ProductionOrderSerializer
    filterset_class = ProductionOrderFilterSet
    search_fields = ["number", "part__number"]
    system_read_kinds = frozenset({SystemKind.ERP, SystemKind.MES})

    @extend_schema(request=s.ProductionOrdersPushSerializer,
                   responses={201: s.UpsertResultSerializer, 200: s.UpsertResultSerializer})
    @idempotent(max_bytes_setting="THREAD_MAX_BULK_REQUEST_BYTES")
    def create(self, request, *args, **kwargs):
        return self._push(request, s.ProductionOrdersPushSerializer,
                          services.production_orders_upsert)

    @extend_schema(request=s.ProductionStatusSerializer,
                   responses={200: s.ProductionOrderSerializer})
    @action(detail=True, methods=["post"], url_path="status",
            required_perms={"*": ["orders.change_productionorder"]})
    @idempotent()
    def set_status(self, request, pk=None):
        return self._status(request, s.ProductionStatusSerializer,
                            services.production_order_status_set)
