"""Work orders in the API: the MES reads them (and the document exactly as sent) and reports
their status (docs/work-orders.md, "API")."""

from __future__ import annotations

import django_filters
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from thread.api.parsers import DecimalJSONParser, XMLBodyParser
from thread.catalog.api.serializers import PartBriefSerializer, ReasonField
from thread.errors import invalid
from thread.flows.choices import SystemKind
from thread.flows.idempotency import idempotent
from thread.flows.permissions import calling_system
from thread.flows.reasons import push_reason

from ..choices import MES_REPORTED_STATUSES, WorkOrderStatus
from ..models import WorkOrder, WorkOrderMaterial, WorkOrderOperation
from ..work_orders import selectors, services

ERP_AND_MES = frozenset({SystemKind.ERP, SystemKind.MES})
MES = frozenset({SystemKind.MES})


class WorkOrderMaterialSerializer(serializers.ModelSerializer):
    part = serializers.CharField(source="part.number")
    unit = serializers.CharField(source="unit.code")

    class Meta:
        model = WorkOrderMaterial
        fields = ["position", "part", "quantity", "unit", "produced"]


class WorkOrderOperationSerializer(serializers.ModelSerializer):
    work_center = serializers.CharField(source="work_center.code")
    materials = WorkOrderMaterialSerializer(many=True)

    class Meta:
        model = WorkOrderOperation
        fields = ["sequence", "operation_code", "description", "work_center", "setup_minutes",
                  "run_minutes", "queue_minutes", "move_minutes", "planned_minutes", "milestone",
                  "reports_quantity", "instructions", "document_reference", "materials"]


class HoldReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()


class WorkOrderLineageSerializer(serializers.Serializer):
    production_order = serializers.CharField(source="production_order.number")
    revision = serializers.SerializerMethodField()
    mbom_version = serializers.SerializerMethodField()
    rule_set_version = serializers.SerializerMethodField()
    routing_version = serializers.SerializerMethodField()

    def get_revision(self, work_order) -> str | None:
        return work_order.revision.label if work_order.revision else None

    def get_mbom_version(self, work_order) -> int | None:
        return work_order.mbom_version.number if work_order.mbom_version else None

    def get_rule_set_version(self, work_order) -> int | None:
        return work_order.rule_set_version.number if work_order.rule_set_version else None

    def get_routing_version(self, work_order) -> int | None:
        return work_order.routing_version.number if work_order.routing_version else None


class WorkOrderSerializer(serializers.ModelSerializer):
    plant = serializers.CharField(source="plant.code")
    mes_system = serializers.CharField(source="mes_system.name", allow_null=True)
    part = PartBriefSerializer()
    unit = serializers.CharField(source="unit.code")
    hold_reasons = HoldReasonSerializer(many=True)
    lineage = WorkOrderLineageSerializer(source="*")
    operations = WorkOrderOperationSerializer(many=True)

    class Meta:
        model = WorkOrder
        fields = ["id", "number", "plant", "mes_system", "part", "quantity", "unit", "status",
                  "planned_start", "planned_end", "hold_reasons", "awaiting_decision",
                  "format", "media_type", "document_sha256", "lineage", "built_at",
                  "build_count", "changes_sent", "sent_at", "acknowledged_at", "started_at",
                  "finished_at", "operations"]


class WorkOrderStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[(s, WorkOrderStatus(s).label)
                                              for s in MES_REPORTED_STATUSES])
    reason = ReasonField()


class WorkOrderFilterSet(django_filters.FilterSet):
    plant = django_filters.CharFilter(field_name="plant__code", help_text="Plant code.")
    status = django_filters.MultipleChoiceFilter(choices=WorkOrderStatus.choices)
    number = django_filters.CharFilter()
    part = django_filters.CharFilter(field_name="part__number", help_text="Part number.")

    class Meta:
        model = WorkOrder
        fields = ["plant", "status", "number", "part"]


class WorkOrderViewSet(viewsets.ReadOnlyModelViewSet):
    """What Thread told each MES: one work order per production order and MES, with the
    operations and material requirements as computed and where it was built from. An MES sees
    its own work orders."""

    serializer_class = WorkOrderSerializer
    filterset_class = WorkOrderFilterSet
    system_read_kinds = ERP_AND_MES
    system_push_kinds = MES
    required_perms = None

    def get_queryset(self):
        return self._visible(selectors.work_orders_list())

    def _visible(self, work_orders):
        """An MES sees the work orders sent to it, nobody else's."""
        system = calling_system(self.request)
        if system is not None and system.kind == SystemKind.MES:
            work_orders = work_orders.filter(mes_system=system)
        return work_orders

    @extend_schema(responses={(200, "application/xml"): OpenApiTypes.STR,
                              (200, "application/json"): OpenApiTypes.OBJECT,
                              404: OpenApiResponse(description="No document: the work order is "
                                                               "held or waits for its shift.")})
    @action(detail=True, methods=["get"], url_path="document")
    def document(self, request, pk=None):
        """The document exactly as sent (its stored bytes and media type), never re-rendered."""
        work_order = get_object_or_404(self._visible(WorkOrder.objects.only(
            "pk", "document", "media_type", "number", "status", "mes_system_id")), pk=pk)
        if not work_order.document or work_order.status in (WorkOrderStatus.HELD,
                                                             WorkOrderStatus.SCHEDULED):
            raise invalid("/document", "not_sent",
                          f"{work_order} is {work_order.get_status_display().lower()}: no "
                          "document was sent to the MES yet.")
        response = HttpResponse(work_order.document.encode(),
                                content_type=f"{work_order.media_type}; charset=utf-8")
        response["Content-Disposition"] = (f'inline; filename="work-order-{work_order.number}.'
                                           f'{"xml" if "xml" in work_order.media_type else "json"}"')
        return response

    # The XML body is described, not declared: client generators (openapi-python-client) stop
    # at an application/xml request body, and the JSON form is the one every MES can send.
    @extend_schema(request={"application/json": WorkOrderStatusSerializer},
                   responses={200: WorkOrderSerializer},
                   description="The MES reports a work order's status as JSON. Where the "
                               "plant's format is B2MML it may instead POST a B2MML V0701 "
                               "AcknowledgeOperationsSchedule with Content-Type "
                               "application/xml, validated against the official schema "
                               "(docs/work-orders.md). A move the state machine does not allow "
                               "is 409.")
    @action(detail=True, methods=["post"], url_path="status",
            parser_classes=[DecimalJSONParser, XMLBodyParser],
            required_perms={"*": ["orders.change_workorder"]})
    @idempotent()
    def set_status(self, request, pk=None):
        if calling_system(request) is None and not request.user.is_authenticated:
            raise PermissionDenied()
        work_order = self.get_object()
        if isinstance(request.data, bytes):
            services.work_order_acknowledge(work_order=work_order, document=request.data,
                                            actor=request.user, reason=push_reason(request, ""))
            return Response(self.get_serializer(self.get_queryset().get(pk=work_order.pk)).data)
        data = WorkOrderStatusSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        status, reason = data.validated_data["status"], data.validated_data.get("reason", "")
        services.work_order_status_report(work_order=work_order, status=status,
                                          actor=request.user,
                                          reason=push_reason(request, reason))
        return Response(self.get_serializer(self.get_queryset().get(pk=work_order.pk)).data)

