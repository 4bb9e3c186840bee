"""Delivering the bike's Berlin mBOM to a converging ERP in the tests (Odoo, ERPNext): the message,
a drain that prefers it, and the same message written again (a repeat, or a changed payload)."""

from __future__ import annotations

from django.db import transaction

from thread.flows.delivery import drain
from thread.flows.models import OutboundMessage
from thread.flows.outbox import outbound_message_write


def berlin(erp) -> OutboundMessage:
    return OutboundMessage.objects.get(system=erp.system, topic="mbom.published",
                                       payload__plant="BER", payload__part="BK-100")


def deliver(message: OutboundMessage) -> OutboundMessage:
    drain(prefer_ids=[message.pk], budget_seconds=30)
    message.refresh_from_db()
    return message


def again(message: OutboundMessage, payload=None, key="again") -> OutboundMessage:
    with transaction.atomic():
        return outbound_message_write(system=message.system, topic=message.topic,
                                      payload=payload or message.payload, about=message.about,
                                      cause=None, ordering_key=key)
