"""What a simulated peer does with a request, and the switches that make it fail.

A sandbox peer speaks the protocol of Thread's generic REST connector (connectors/rest.py): a
JSON body (the sandbox MES also takes B2MML work orders, which it validates and summarises as
a B2MML MES would, refusing an invalid one with 400), the topic in X-Thread-Topic (or the last
path segment), and an Idempotency-Key that it applies at most once — a repeat is answered like
the first time (200, Idempotent-Replayed) and recorded as a repeat, never applied again.

The switch acts before anything else, as a broken server would: "down" answers 503 at once
(the nearest a server that is still running can come to a peer that is away; the connector
retries it exactly like a refused connection), "slow" applies the request and answers only after
`slow_seconds`, so a client with a shorter read timeout gives up on a request that was in fact
applied and its retry shows up as a repeat.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from lxml import etree

from connectors.b2mml.document import ScheduleVerb
from connectors.b2mml.errors import B2mmlError
from connectors.b2mml.json_form import parse_schedule_message_json, validate_json
from connectors.b2mml.parse import ScheduleMessage, parse_schedule_message
from connectors.b2mml.safe import parse_xml
from connectors.b2mml.validate import validate_xml
from thread.errors import invalid

from .choices import FaultMode, PeerName, RequestOutcome
from .models import SandboxPeer, SandboxRequest

# Headers whose values are credentials: recorded as present, never with their value.
REDACTED_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})
MAX_RECORDED_BODY_CHARS = 100_000
SCHEDULE_ROOTS = frozenset(verb.root for verb in ScheduleVerb)


@dataclass(frozen=True)
class SandboxAnswer:
    """The peer's answer; the view waits `delay_seconds` before sending it."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0


def _header(headers: Mapping[str, str], name: str) -> str:
    name = name.lower()
    return next((value for key, value in headers.items() if key.lower() == name), "")


def _recorded_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {key: "[redacted]" if key.lower() in REDACTED_HEADERS else value
            for key, value in headers.items()}


def _fault_answer(switch: SandboxPeer, topic: str) -> SandboxAnswer | None:
    peer = switch.get_name_display()
    if switch.fault == FaultMode.DOWN:
        return SandboxAnswer(503, {"detail": f"sandbox {peer} is down (switched on the sandbox page)"})
    if switch.fault == FaultMode.ERROR_500:
        return SandboxAnswer(500, {"detail": f"sandbox {peer}: internal server error (switched)"})
    if switch.fault == FaultMode.THROTTLE_429:
        return SandboxAnswer(429, {"detail": f"sandbox {peer}: too many requests (switched)"},
                             {"Retry-After": str(switch.retry_after_seconds)})
    if switch.fault == FaultMode.REJECT_400 and topic == switch.fault_topic:
        return SandboxAnswer(400, {"detail": f"sandbox {peer} refuses topic {topic!r} (switched)",
                                   "topic": topic})
    return None


def sandbox_request_receive(*, peer: str, method: str, path: str, headers: Mapping[str, str],
                            body: bytes) -> SandboxAnswer:
    """Record one request to a simulated peer and decide its answer."""
    if peer not in PeerName.values:
        raise invalid("/peer", "unknown", f"no sandbox peer {peer!r}")
    switch = SandboxPeer.objects.filter(name=peer).first() or SandboxPeer(name=peer)
    topic = (_header(headers, "X-Thread-Topic") or path.rstrip("/").rsplit("/", 1)[-1])[:100]
    key = _header(headers, "Idempotency-Key")[:255]
    record = SandboxRequest(
        peer=peer, method=method.upper()[:10], path=path[:500], topic=topic,
        headers=_recorded_headers(headers),
        body=body.decode("utf-8", errors="replace")[:MAX_RECORDED_BODY_CHARS],
        received_at=timezone.now(), idempotency_key=key, fault=switch.fault)

    answer = _fault_answer(switch, topic)
    if answer is not None:
        record.outcome, record.response_status = RequestOutcome.FAILED, answer.status
        record.save()
        return answer
    if record.method in ("GET", "HEAD"):
        # A read applies nothing and needs no key: what "test connection" sends.
        record.outcome, record.response_status = RequestOutcome.READ, 200
        record.save()
        return SandboxAnswer(200, {"peer": peer, "ok": True})
    if not key:
        record.outcome, record.response_status = RequestOutcome.REFUSED, 400
        record.save()
        return SandboxAnswer(400, {"detail": "Idempotency-Key header is required"})
    if peer == PeerName.MES:
        problems, record.note = mes_document_read(_header(headers, "Content-Type"), body)
        if problems:
            record.outcome, record.response_status = RequestOutcome.INVALID, 400
            record.save()
            return SandboxAnswer(400, {"detail": "not a valid B2MML document",
                                       "problems": problems[:20]})

    delay = switch.slow_seconds if switch.fault == FaultMode.SLOW else 0.0
    try:
        with transaction.atomic():
            record.outcome, record.response_status = RequestOutcome.APPLIED, 201
            record.save()
        return SandboxAnswer(201, {"id": record.pk, "applied": True, "topic": topic},
                             delay_seconds=delay)
    except IntegrityError:
        first = SandboxRequest.objects.get(peer=peer, idempotency_key=key,
                                           outcome=RequestOutcome.APPLIED)
    record.pk = None
    record.outcome, record.response_status = RequestOutcome.REPEAT, 200
    record.save()
    return SandboxAnswer(200, {"id": first.pk, "applied": False, "repeat_of": first.pk,
                               "topic": first.topic},
                         {"Idempotent-Replayed": "true"}, delay_seconds=delay)


def mes_document_read(content_type: str, body: bytes) -> tuple[list[str], str]:
    """What the sandbox MES makes of a document, as a B2MML MES would: an XML body must be a
    valid B2MML V0701 document (checked against the vendored official schema, parsed without
    DTDs or entities), a B2MML-JSON work order valid against MESA's JSON schema. Returns the
    problems (refused with 400) and a note for the sandbox page."""
    try:
        if "xml" in content_type:
            problems = validate_xml(body)
            if problems:
                return problems, ""
            root = parse_xml(body)
            if etree.QName(root).localname not in SCHEDULE_ROOTS:
                return [], f"valid B2MML {etree.QName(root).localname}"
            return [], _work_orders_note(parse_schedule_message(body), "B2MML V0701")
        data = json.loads(body or b"null")
        if isinstance(data, dict) and SCHEDULE_ROOTS.intersection(data):
            problems = validate_json(data)
            if problems:
                return problems, ""
            return [], _work_orders_note(parse_schedule_message_json(data), "B2MML-JSON")
    except (B2mmlError, ValueError) as exc:
        return [str(exc)], ""
    return [], ""


def _work_orders_note(message: ScheduleMessage, form: str) -> str:
    what = {ScheduleVerb.PROCESS: "work order", ScheduleVerb.CHANGE: "CHANGE of work order",
            ScheduleVerb.CANCEL: "CANCEL of work order"}[message.verb]
    return "; ".join(
        f"{what} {w.number}: {w.quantity.normalize():f} {w.unit} {w.part} rev {w.revision}, "
        f"{len(w.operations)} operations, {sum(len(o.materials) for o in w.operations)} material "
        f"requirements (valid {form})" for w in message.work_orders)


def sandbox_peer_switch(*, peer: str, fault: str, actor: AbstractBaseUser | None,
                        fault_topic: str = "", retry_after_seconds: int | None = None,
                        slow_seconds: float | None = None) -> SandboxPeer:
    """Set a simulated peer's fault mode (none switches it back to working)."""
    if peer not in PeerName.values:
        raise invalid("/peer", "unknown", f"no sandbox peer {peer!r}")
    if fault not in FaultMode.values:
        raise invalid("/fault", "invalid_choice", f"fault must be one of {', '.join(FaultMode.values)}")
    fault_topic = fault_topic.strip()
    if fault == FaultMode.REJECT_400 and not fault_topic:
        raise invalid("/fault_topic", "required", "400 for one topic needs the topic")
    with transaction.atomic():
        switch, _ = SandboxPeer.objects.select_for_update().get_or_create(name=peer)
        switch.fault = fault
        switch.fault_topic = fault_topic if fault == FaultMode.REJECT_400 else ""
        if retry_after_seconds is not None:
            switch.retry_after_seconds = retry_after_seconds
        if slow_seconds is not None:
            switch.slow_seconds = slow_seconds
        switch.switched_at = timezone.now()
        switch.switched_by = actor if actor is not None and actor.is_authenticated else None
        try:
            switch.full_clean()
        except ValidationError as exc:
            field_name, messages = next(iter(exc.message_dict.items()))
            raise invalid(f"/{field_name}", "invalid", " ".join(messages)) from exc
        switch.save()
    return switch
