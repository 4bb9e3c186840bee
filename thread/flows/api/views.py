from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.authentication import BasicAuthentication
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from .. import outbox, selectors
from ..filtersets import OutboundMessageFilterSet
from ..idempotency import idempotent
from ..permissions import calling_system
from . import serializers as s

OPERATE = {"*": ["flows.operate_outboundmessage"]}


class OutboundMessageViewSet(viewsets.ReadOnlyModelViewSet):
    """Outbound messages and their delivery status. A system reads its own messages; operators
    read all and may retry, replay or cancel one (each with a reason, recorded with their name)."""

    serializer_class = s.OutboundMessageSerializer
    filterset_class = OutboundMessageFilterSet
    search_fields = ["ordering_key", "correlation_id", "idempotency_key"]
    queryset = selectors.outbound_messages_list()
    required_perms = None  # reads: view permission; the actions set their own (see CallerRights)

    def get_queryset(self):
        system = calling_system(self.request)
        if self.action == "retrieve":
            return selectors.outbound_message_detail(system=system)
        return selectors.outbound_messages_list(system=system)

    def get_serializer_class(self):
        return s.OutboundMessageDetailSerializer if self.action == "retrieve" \
            else s.OutboundMessageSerializer

    def _answer(self, message):
        message = selectors.outbound_message_detail().get(pk=message.pk)
        return Response(s.OutboundMessageDetailSerializer(message).data)

    @extend_schema(request=s.OperatorActionSerializer, responses={200: s.OutboundMessageDetailSerializer})
    @action(detail=True, methods=["post"], required_perms=OPERATE)
    @idempotent()
    def retry(self, request, pk=None):
        data = s.OperatorActionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = outbox.outbound_message_retry(message=self.get_object(), actor=request.user,
                                                reason=data.validated_data["reason"])
        return self._answer(message)

    @extend_schema(request=s.ReplaySerializer, responses={200: s.OutboundMessageDetailSerializer})
    @action(detail=True, methods=["post"], required_perms=OPERATE)
    @idempotent()
    def replay(self, request, pk=None):
        data = s.ReplaySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = outbox.outbound_message_replay(message=self.get_object(), actor=request.user,
                                                 reason=data.validated_data["reason"],
                                                 confirm=data.validated_data["confirm"])
        return self._answer(message)

    @extend_schema(request=s.OperatorActionSerializer, responses={200: s.OutboundMessageDetailSerializer})
    @action(detail=True, methods=["post"], required_perms=OPERATE)
    @idempotent()
    def cancel(self, request, pk=None):
        data = s.OperatorActionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        message = outbox.outbound_message_cancel(message=self.get_object(), actor=request.user,
                                                 reason=data.validated_data["reason"])
        return self._answer(message)


def _seconds(delta) -> float | None:
    return round(delta.total_seconds(), 1) if delta is not None else None


class FlowStatusView(APIView):
    """Flow status for monitoring tools: per system, counts by status, the oldest waiting
    message's age, dead messages, the last delivery and the last hour's error rate. People with
    the flows view permission see every system; a system's key sees its own row. Monitoring
    tools may use HTTP Basic with a user of the auditor group. Thread's own health (for load
    balancers) is /healthz, not this."""

    authentication_classes = [*api_settings.DEFAULT_AUTHENTICATION_CLASSES, BasicAuthentication]
    required_perms = {"GET": ["flows.view_outboundmessage"], "HEAD": ["flows.view_outboundmessage"]}

    @extend_schema(responses={200: s.FlowStatusSerializer})
    def get(self, request):
        now = timezone.now()
        summaries = selectors.system_flow_summaries(now=now, system=calling_system(request))
        systems = [{
            "id": summary.system.pk, "name": summary.system.name, "kind": summary.system.kind,
            "delivery_enabled": summary.system.delivery_enabled,
            "counts": summary.counts, "waiting": summary.waiting, "dead": summary.dead,
            "oldest_waiting_since": summary.oldest_waiting_since,
            "oldest_waiting_age_seconds": _seconds(summary.oldest_waiting_age),
            "last_delivered_at": summary.last_delivered_at,
            "attempts_last_hour": summary.attempts_last_hour,
            "failed_attempts_last_hour": summary.failed_attempts_last_hour,
            "error_rate_last_hour": summary.error_rate_last_hour,
            "alerts": summary.alerts,
        } for summary in summaries]
        return Response(s.FlowStatusSerializer({
            "status": "alert" if any(row["alerts"] for row in systems) else "ok",
            "generated_at": now, "alert_pending_age_minutes": settings.THREAD_ALERT_PENDING_AGE_MINUTES,
            "systems": systems}).data)
