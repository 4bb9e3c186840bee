from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.authentication import BasicAuthentication
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from .. import drift_findings, drift_selectors, outbox, selectors
from ..attention import open_attention_counts
from ..filtersets import DriftFindingFilterSet, OutboundMessageFilterSet
from ..idempotency import idempotent
from ..permissions import calling_system
from . import serializers as s

OPERATE = {"*": ["flows.operate_outboundmessage"]}


def _action_input(request, serializer=s.OperatorActionSerializer) -> dict:
    """An operator action's body (its reason, …), validated: a 400 naming the field if not."""
    data = serializer(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data


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
        data = _action_input(request)
        message = outbox.outbound_message_retry(message=self.get_object(), actor=request.user,
                                                reason=data["reason"])
        return self._answer(message)

    @extend_schema(request=s.ReplaySerializer, responses={200: s.OutboundMessageDetailSerializer})
    @action(detail=True, methods=["post"], required_perms=OPERATE)
    @idempotent()
    def replay(self, request, pk=None):
        data = _action_input(request, s.ReplaySerializer)
        message = outbox.outbound_message_replay(message=self.get_object(), actor=request.user,
                                                 reason=data["reason"],
                                                 confirm=data["confirm"])
        return self._answer(message)

    @extend_schema(request=s.OperatorActionSerializer, responses={200: s.OutboundMessageDetailSerializer})
    @action(detail=True, methods=["post"], required_perms=OPERATE)
    @idempotent()
    def cancel(self, request, pk=None):
        data = _action_input(request)
        message = outbox.outbound_message_cancel(message=self.get_object(), actor=request.user,
                                                 reason=data["reason"])
        return self._answer(message)


def _seconds(delta) -> float | None:
    return round(delta.total_seconds(), 1) if delta is not None else None


def _system_status(summary: selectors.SystemFlowSummary) -> dict:
    peer, error = summary.peer, summary.peer.last_error
    return {
        "id": summary.system.pk, "name": summary.system.name, "kind": summary.system.kind,
        "delivery_enabled": summary.system.delivery_enabled,
        "counts": {status: min(count, selectors.COUNT_CAP) for status, count in summary.counts.items()},
        "counts_capped": summary.counts_capped,
        "waiting": summary.waiting, "dead": min(summary.dead, selectors.COUNT_CAP),
        "oldest_waiting_since": summary.oldest_waiting_since,
        "oldest_waiting_age_seconds": _seconds(summary.oldest_waiting_age),
        "last_delivered_at": summary.last_delivered_at,
        "attempts_last_hour": summary.attempts_last_hour,
        "failed_attempts_last_hour": summary.failed_attempts_last_hour,
        "error_rate_last_hour": summary.error_rate_last_hour,
        "window_attempts": peer.window_attempts, "window_failed_attempts": peer.window_failed,
        "window_failure_rate": peer.failure_rate,
        "consecutive_failures": peer.consecutive_failures,
        "consecutive_failures_capped": peer.consecutive_capped,
        "failing_since": peer.failing_since, "unreachable": peer.unreachable,
        "stuck_sending": min(summary.stuck_sending, selectors.COUNT_CAP),
        "stuck_since": summary.stuck_since,
        "last_error": None if error is None else {
            "at": error.at, "error_class": error.error_class,
            "response_status": error.response_status, "error": error.error},
        "alerts": summary.alerts,
    }


class FlowStatusView(APIView):
    """Flow status for monitoring tools: per system, counts by status, the oldest waiting
    message's age, dead messages, the last delivery, and the peer's signals (failure rate in the
    failure window, failures in a row, unreachable, stuck sends, its last error); `status` is
    `alert` as soon as any system is in alert. People with the flows view permission see every
    system; a system's key sees its own row. Monitoring tools may use HTTP Basic with a user of
    the auditor group. A fixed number of queries, whatever the number of messages. Thread's own
    health (for load balancers) is /healthz, not this. `needs_attention` counts the records held
    back for a person (a held work order…) by kind: the flow monitor lists them."""

    authentication_classes = [*api_settings.DEFAULT_AUTHENTICATION_CLASSES, BasicAuthentication]
    required_perms = {"GET": ["flows.view_outboundmessage"], "HEAD": ["flows.view_outboundmessage"]}

    @extend_schema(responses={200: s.FlowStatusSerializer})
    def get(self, request):
        now = timezone.now()
        summaries = selectors.system_flow_summaries(now=now, system=calling_system(request))
        return Response(s.FlowStatusSerializer({
            "status": "alert" if any(summary.alerts for summary in summaries) else "ok",
            "generated_at": now, "alert_pending_age_minutes": settings.THREAD_ALERT_PENDING_AGE_MINUTES,
            "failure_window_minutes": settings.THREAD_ALERT_FAILURE_WINDOW_MINUTES,
            "count_cap": selectors.COUNT_CAP,
            "needs_attention": open_attention_counts(system=calling_system(request)),
            "open_drift_findings": drift_selectors.open_drift_counts(
                system=calling_system(request)),
            "systems": [_system_status(summary) for summary in summaries]}).data)


OPERATE_DRIFT = {"*": ["flows.operate_driftfinding"]}


class DriftFindingViewSet(viewsets.ReadOnlyModelViewSet):
    """Drift findings: where a peer no longer holds what Thread delivered (docs/monitoring.md,
    "Drift"). People read them (operators, auditors); operators re-push Thread's state or
    acknowledge the peer's, each with a reason recorded with their name. Systems do not read
    them."""

    queryset = drift_selectors.drift_findings_list()
    filterset_class = DriftFindingFilterSet
    required_perms = None  # reads: view permission; the actions set their own (see CallerRights)
    system_read_kinds = frozenset()

    def get_queryset(self):
        if self.action == "list":
            return drift_selectors.drift_findings_list()
        return drift_selectors.drift_finding_detail()

    def get_serializer_class(self):
        return s.DriftFindingSerializer if self.action == "list" \
            else s.DriftFindingDetailSerializer

    def _finding(self, finding):
        return s.DriftFindingDetailSerializer(
            drift_selectors.drift_finding_detail().get(pk=finding.pk)).data

    @extend_schema(request=s.OperatorActionSerializer, responses={200: s.RePushAnswerSerializer})
    @action(detail=True, methods=["post"], url_path="re-push", required_perms=OPERATE_DRIFT)
    @idempotent()
    def re_push(self, request, pk=None):
        data = _action_input(request)
        finding = self.get_object()
        message = drift_findings.drift_finding_re_push(
            finding=finding, actor=request.user, reason=data["reason"])
        return Response({"finding": self._finding(finding),
                         "message": s.OutboundMessageSerializer(message).data})

    @extend_schema(request=s.OperatorActionSerializer, responses={200: s.DriftFindingDetailSerializer})
    @action(detail=True, methods=["post"], required_perms=OPERATE_DRIFT)
    @idempotent()
    def acknowledge(self, request, pk=None):
        data = _action_input(request)
        finding = drift_findings.drift_finding_acknowledge(
            finding=self.get_object(), actor=request.user, reason=data["reason"])
        return Response(self._finding(finding))
