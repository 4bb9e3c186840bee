from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

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
