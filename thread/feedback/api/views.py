from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from thread.api.parsers import DecimalJSONParser, XMLBodyParser
from thread.changes.selectors import change_order_by_key
from thread.flows.api.serializers import OperatorActionSerializer
from thread.flows.choices import SystemKind
from thread.flows.idempotency import idempotent
from thread.flows.permissions import calling_system
from thread.flows.reasons import push_reason

from .. import selectors, services
from ..effects import change_order_effects
from ..filtersets import (
    OperationResultFilterSet,
    OrderProgressFilterSet,
    QualityEventFilterSet,
    RollupDayFilterSet,
)
from ..story.selectors import NotRecordedThen, revision_by_key, revision_story
from . import serializers as s
from . import story_serializers

MES = frozenset({SystemKind.MES})
ALL_READERS = frozenset(SystemKind.values)


def _inbound_id(request) -> int | None:
    message = getattr(request, "inbound_message", None)
    return message.pk if message is not None else None


class OperationResultViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """What the MES reports per work order and operation: good and scrap quantity, actual
    times. POST one result (JSON); a repeat of its `report_id` is recorded once. The result that
    completes the last operation completes the work order, and the ERP is told."""

    serializer_class = s.OperationResultSerializer
    filterset_class = OperationResultFilterSet
    parser_classes = [DecimalJSONParser, XMLBodyParser]
    system_read_kinds = ALL_READERS
    system_push_kinds = MES
    required_perms = None

    def get_queryset(self):
        return selectors.operation_results_list(system=calling_system(self.request))

    # The XML body is described, not declared (client generators stop at an XML request body).
    @extend_schema(request={"application/json": s.OperationResultPushSerializer},
                   responses={201: s.OperationResultSerializer, 200: s.OperationResultSerializer},
                   description="One result as JSON. The MES may instead POST a B2MML V0701 "
                               "ProcessOperationsPerformance with Content-Type application/xml "
                               "(validated against the official schema; every SegmentResponse "
                               "a result, all or none; answered with the list of results; "
                               "docs/feedback.md).")
    @idempotent()
    def create(self, request, *args, **kwargs):
        if isinstance(request.data, bytes):
            recorded = services.operation_results_record_b2mml(
                document=request.data, system=calling_system(request), actor=request.user,
                reason=push_reason(request, ""), inbound_message_id=_inbound_id(request))
            results = self.get_queryset().filter(pk__in=[r.result.pk for r in recorded])
            return Response(s.OperationResultSerializer(results.order_by("id"), many=True).data,
                            status=status.HTTP_201_CREATED
                            if any(r.created for r in recorded) else status.HTTP_200_OK)
        data = s.OperationResultPushSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        recorded = services.operation_result_record(
            given=data.to_input(), system=calling_system(request), actor=request.user,
            reason=push_reason(request, data.validated_data["reason"]),
            inbound_message_id=_inbound_id(request))
        result = self.get_queryset().get(pk=recorded.result.pk)
        return Response(s.OperationResultSerializer(result).data,
                        status=status.HTTP_201_CREATED if recorded.created else status.HTTP_200_OK)


class QualityEventViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Defects found on the shop floor. POST one event (JSON); a repeat of its `event_id` is
    recorded once. The quality group acknowledges them."""

    serializer_class = s.QualityEventSerializer
    filterset_class = QualityEventFilterSet
    parser_classes = [DecimalJSONParser]
    system_read_kinds = ALL_READERS
    system_push_kinds = MES
    required_perms = None

    def get_queryset(self):
        return selectors.quality_events_list(system=calling_system(self.request))

    @extend_schema(request=s.QualityEventPushSerializer,
                   responses={201: s.QualityEventSerializer, 200: s.QualityEventSerializer})
    @idempotent()
    def create(self, request, *args, **kwargs):
        data = s.QualityEventPushSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event, created = services.quality_event_record(
            given=data.to_input(), system=calling_system(request), actor=request.user,
            reason=push_reason(request, data.validated_data["reason"]),
            inbound_message_id=_inbound_id(request))
        return Response(s.QualityEventSerializer(self.get_queryset().get(pk=event.pk)).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(request=OperatorActionSerializer, responses={200: s.QualityEventSerializer})
    @action(detail=True, methods=["post"],
            required_perms={"*": ["feedback.acknowledge_qualityevent"]})
    @idempotent()
    def acknowledge(self, request, pk=None):
        data = OperatorActionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = services.quality_event_acknowledge(event=self.get_object(), actor=request.user,
                                                   reason=data.validated_data["reason"])
        return Response(s.QualityEventSerializer(self.get_queryset().get(pk=event.pk)).data)


class RollupDayViewSet(viewsets.ReadOnlyModelViewSet):
    """The roll-ups: per design revision, plant, operation and work center, one row per
    plant-local day, with what it says (yield, scrap by reason, times against standard, defects).
    Sum any window of days for a period."""

    queryset = selectors.rollup_days_list()
    serializer_class = s.RollupDaySerializer
    filterset_class = RollupDayFilterSet
    system_read_kinds = ALL_READERS


class OrderProgressViewSet(viewsets.ReadOnlyModelViewSet):
    """What ERPs that track build progress (InvenTree) reported of their production orders,
    one reading per change, as the build-order poll read it (docs/feedback.md, "Results an ERP
    reports")."""

    queryset = selectors.order_progress_list()
    serializer_class = s.OrderProgressSerializer
    filterset_class = OrderProgressFilterSet
    system_read_kinds = ALL_READERS


class ChangeOrderEffectsView(APIView):
    """Did a released change help? Per affected item and plant, the new revision's roll-ups
    from its first results on, against the revision it replaced over as many days just before
    (docs/feedback.md, "Per change order")."""

    required_perms = {"GET": ["feedback.view_rollupday"]}
    system_read_kinds = frozenset({SystemKind.PLM, SystemKind.ERP})

    @extend_schema(parameters=[s.EffectsQuerySerializer],
                   responses={200: s.ChangeOrderEffectsSerializer},
                   operation_id="feedback_change_order_effects")
    def get(self, request):
        query = s.EffectsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        change_order = change_order_by_key(query.validated_data["change_order"])
        if change_order is None:
            raise NotFound(f"No change order {query.validated_data['change_order']!r}.")
        days = query.validated_data["days"]
        return Response(s.ChangeOrderEffectsSerializer({
            "change_order": change_order.number, "released_at": change_order.released_at,
            "days": days,
            "effects": change_order_effects(change_order=change_order, days=days)}).data)


class ThreadView(APIView):
    """One part revision's whole story, from design to shop floor and back: eBOM and change
    orders with approvals, per plant the mBOM, rule-set and routing versions, production and
    work orders with what they were built from and what was sent to whom, impact flags, drift,
    results and roll-ups, and who did what, when and why. `?at=` gives the story as recorded
    at that moment (docs/feedback.md, "The thread page")."""

    required_perms = {"GET": ["catalog.view_partrevision"]}
    system_read_kinds = ALL_READERS

    @extend_schema(parameters=[story_serializers.ThreadQuerySerializer],
                   responses={200: story_serializers.ThreadSerializer},
                   operation_id="feedback_thread")
    def get(self, request, part: str, revision: str):
        query = story_serializers.ThreadQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        found = revision_by_key(part, revision)
        if found is None:
            raise NotFound(f"No revision {revision} of part {part}.")
        try:
            story = revision_story(revision=found, at=query.validated_data.get("at"))
        except NotRecordedThen as exc:
            raise NotFound(str(exc)) from exc
        return Response(story_serializers.ThreadSerializer(story).data)
