"""Work centers and routings in the API: read by the ERP and the MES, pushed by the ERP
(docs/work-orders.md, "API")."""

from __future__ import annotations

from decimal import Decimal

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from thread.api.parsers import DecimalJSONParser
from thread.catalog.api.serializers import PartBriefSerializer, ReasonField
from thread.flows.choices import SystemKind
from thread.flows.idempotency import idempotent
from thread.flows.permissions import calling_system
from thread.flows.reasons import push_reason

from ..choices import RoutingStatus
from ..models import RoutingOperation, RoutingVersion, WorkCenter
from ..routings import selectors, services

ERP = frozenset({SystemKind.ERP})
ERP_AND_MES = frozenset({SystemKind.ERP, SystemKind.MES})
MINUTES = {"max_digits": 14, "decimal_places": 4, "min_value": Decimal(0),
           "max_value": Decimal("999999999")}


# --- Work centers ----------------------------------------------------------------------------

class WorkCenterSerializer(serializers.ModelSerializer):
    plant = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = WorkCenter
        fields = ["id", "plant", "code", "name", "capacity_unit", "shift_starts", "active"]


class WorkCenterPushSerializer(serializers.Serializer):
    plant = serializers.CharField(max_length=16, help_text="Plant code.")
    code = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=100)
    capacity_unit = serializers.CharField(max_length=20, default="h")
    shift_starts = serializers.JSONField(
        required=False, default=dict,
        help_text='Shift start times per weekday in the plant\'s time zone: '
                  '{"mon": ["06:00", "14:00"], …}.')
    active = serializers.BooleanField(default=True)


class WorkCentersPushSerializer(serializers.Serializer):
    work_centers = WorkCenterPushSerializer(many=True, allow_empty=False)
    reason = ReasonField()


class _Ref(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    code = serializers.CharField()


class WorkCentersResultSerializer(serializers.Serializer):
    created = _Ref(many=True)
    updated = _Ref(many=True)
    unchanged = _Ref(many=True)


class WorkCenterFilterSet(django_filters.FilterSet):
    plant = django_filters.CharFilter(field_name="plant__code", help_text="Plant code.")
    code = django_filters.CharFilter()

    class Meta:
        model = WorkCenter
        fields = ["plant", "code", "active"]


class WorkCenterViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """A plant's work centers with their shift calendars. The ERP POSTs
    `{"work_centers": [...]}` to create or update them by (plant, code)."""

    queryset = selectors.work_centers_list()
    serializer_class = WorkCenterSerializer
    filterset_class = WorkCenterFilterSet
    search_fields = ["code", "name"]
    parser_classes = [DecimalJSONParser]
    system_read_kinds = ERP_AND_MES
    system_push_kinds = ERP

    @extend_schema(request=WorkCentersPushSerializer,
                   responses={201: WorkCentersResultSerializer, 200: WorkCentersResultSerializer})
    @idempotent()
    def create(self, request, *args, **kwargs):
        if calling_system(request) is None:
            raise PermissionDenied("Work centers are pushed by the ERP; people edit them in the "
                                   "admin.")
        data = WorkCentersPushSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.work_centers_upsert(
            centers=[services.WorkCenterInput(**center)
                     for center in data.validated_data["work_centers"]],
            actor=request.user, reason=push_reason(request, data.validated_data.get("reason", "")))
        return Response(WorkCentersResultSerializer(result).data,
                        status=status.HTTP_201_CREATED if result["created"] else status.HTTP_200_OK)


# --- Routings --------------------------------------------------------------------------------

class RoutingOperationSerializer(serializers.ModelSerializer):
    work_center = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = RoutingOperation
        fields = ["sequence", "operation_code", "description", "work_center", "setup_minutes",
                  "run_minutes", "queue_minutes", "move_minutes", "milestone",
                  "reports_quantity", "instructions", "document_reference"]


class RoutingVersionSerializer(serializers.ModelSerializer):
    part = PartBriefSerializer(source="routing.part", read_only=True)
    plant = serializers.CharField(source="routing.plant.code", read_only=True)
    released_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    operations = RoutingOperationSerializer(many=True, read_only=True)

    class Meta:
        model = RoutingVersion
        fields = ["id", "part", "plant", "number", "status", "effective_from", "notes",
                  "released_at", "released_by", "reason", "operations"]


class OperationPushSerializer(serializers.Serializer):
    sequence = serializers.IntegerField(min_value=1, max_value=2_000_000_000)
    operation_code = serializers.CharField(max_length=40,
                                           help_text="What the plant's mBOM lines name.")
    work_center = serializers.CharField(max_length=32, help_text="Work center code at the plant.")
    description = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                        default="")
    setup_minutes = serializers.DecimalField(default=Decimal(0), **MINUTES)
    run_minutes = serializers.DecimalField(default=Decimal(0),
                                           help_text="Per unit of the part.", **MINUTES)
    queue_minutes = serializers.DecimalField(required=False, allow_null=True, default=None,
                                             **MINUTES)
    move_minutes = serializers.DecimalField(required=False, allow_null=True, default=None,
                                            **MINUTES)
    milestone = serializers.BooleanField(default=False)
    reports_quantity = serializers.BooleanField(default=False)
    instructions = serializers.CharField(required=False, allow_blank=True, default="",
                                         max_length=20000)
    document_reference = serializers.CharField(required=False, allow_blank=True, default="",
                                               max_length=300)


class RoutingPushSerializer(serializers.Serializer):
    part = serializers.CharField(max_length=64, help_text="Part number.")
    plant = serializers.CharField(max_length=16, help_text="Plant code.")
    effective_from = serializers.DateField(
        required=False, allow_null=True, default=None,
        help_text="Plant-local date from which orders use it; default: today at the plant.")
    description = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                        default="")
    operations = OperationPushSerializer(many=True)
    reason = ReasonField()


class RoutingFilterSet(django_filters.FilterSet):
    plant = django_filters.CharFilter(field_name="routing__plant__code", help_text="Plant code.")
    part = django_filters.CharFilter(field_name="routing__part__number", help_text="Part number.")
    part_id = django_filters.NumberFilter(field_name="routing__part_id")
    status = django_filters.MultipleChoiceFilter(choices=RoutingStatus.choices)

    class Meta:
        model = RoutingVersion
        fields = ["plant", "part", "part_id", "status"]


class RoutingViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Routing versions (a part's operations at a plant). The ERP POSTs one routing; it is
    released at once as a new version effective from `effective_from`, unless the newest
    released version already has exactly these operations from that date (200, unchanged)."""

    queryset = selectors.routing_versions_list()
    serializer_class = RoutingVersionSerializer
    filterset_class = RoutingFilterSet
    parser_classes = [DecimalJSONParser]
    system_read_kinds = ERP_AND_MES
    system_push_kinds = ERP

    @extend_schema(request=RoutingPushSerializer,
                   responses={201: RoutingVersionSerializer, 200: RoutingVersionSerializer})
    @idempotent()
    def create(self, request, *args, **kwargs):
        system = calling_system(request)
        if system is None:
            raise PermissionDenied("Routings are pushed by the ERP; process engineers edit them "
                                   "in the admin.")
        data = RoutingPushSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        given = data.validated_data
        result = services.routing_push(
            system=system, part=given["part"], plant=given["plant"],
            effective_from=given["effective_from"], description=given["description"],
            operations=[services.OperationInput(**op) for op in given["operations"]],
            actor=request.user, reason=push_reason(request, given.get("reason", "")))
        version = self.get_queryset().get(pk=result.version.pk)
        return Response(self.get_serializer(version).data,
                        status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)
