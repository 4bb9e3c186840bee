"""The connector interface: build the peer's request from canonical data, send it, classify the
answer. Connectors translate between HTTP and plain data and never touch the ORM; the outbox
drainer (thread.flows.delivery) loads the rows and hands them over as the dataclasses below.

Classification follows one rule for every peer: a 2xx is delivered; timeouts, connection errors,
5xx, 408, 425 and 429 are worth another try (honouring Retry-After); anything else — another
4xx, a redirect, a mapping or configuration error — will not get better by itself and goes to
the dead letter at once, with the reason.
"""

from __future__ import annotations

import enum
import json
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx

USER_AGENT = "Thread-outbox/1"
RETRYABLE_STATUS = frozenset({408, 425, 429})
BODY_EXCERPT_CHARS = 2000


class MappingError(Exception):
    """The canonical data or the system's configuration cannot make a request for this peer
    (a topic without a path, a missing credential). Retrying will not help."""


class Outcome(enum.StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    DEAD = "dead"


@dataclass(frozen=True)
class PeerConfig:
    """How to reach one system, as configured on its ExternalSystem row."""

    system_name: str
    base_url: str
    credential_name: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    connect_timeout: float = 5.0
    read_timeout: float = 30.0


@dataclass(frozen=True)
class OutboundEnvelope:
    """One outbound message in plain data."""

    message_id: int
    topic: str
    payload: Any
    idempotency_key: str
    ordering_key: str
    correlation_id: str
    created_at: datetime


@dataclass(frozen=True)
class PeerRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes

    def summary(self) -> str:
        """What an operator needs to see of the request, without credentials."""
        return f"{self.method} {self.url} ({len(self.body)} bytes)"


@dataclass(frozen=True)
class Classification:
    outcome: Outcome
    status_code: int | None = None
    error_class: str = ""  # "" when delivered; "timeout", "connection", "http-503", "mapping", …
    detail: str = ""
    retry_after: float | None = None  # seconds, from the peer's Retry-After
    body_excerpt: str = ""


@dataclass(frozen=True)
class DeliveryResult:
    classification: Classification
    request_summary: str
    started_at: datetime
    duration_ms: int


def read_credential(name: str) -> str:
    """A secret by name: the environment variable NAME, else the file named by NAME_FILE (the
    Docker/Kubernetes secrets convention). Read at send time, so a rotated secret applies
    without a restart of the web server and is never stored in the database."""
    value = os.environ.get(name)
    if value:
        return value
    path = os.environ.get(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text().strip()
        except OSError as exc:
            raise MappingError(f"credential file {name}_FILE cannot be read: {exc.strerror}") from exc
    raise MappingError(f"credential {name} is not set in the environment (nor {name}_FILE)")


class DeadlineTimeouts(dict):
    """A request's timeouts that never reach past a deadline. httpcore looks each timeout up
    (`timeouts.get("connect")`, "write", "read", "pool") just before the network operation it
    bounds, so answering with the time left until the deadline bounds the whole exchange —
    pool wait, connect, send, waiting for the answer — not just each step (the body's chunks
    are checked by Connector.send). The drainer gives every send such a deadline so that no task outlives
    django-q2's timeout (docs/outbox.md, Timing)."""

    def __init__(self, timeouts: dict[str, float | None], deadline: float) -> None:
        super().__init__(timeouts)
        self.deadline = deadline

    def get(self, key: str, default: float | None = None) -> float | None:
        # A zero or negative timeout would mean "no wait" or be refused: a millisecond ends it.
        left = max(0.001, self.deadline - time.monotonic())
        configured = super().get(key, default)
        return left if configured is None else min(configured, left)


def make_client(*, connect_timeout: float, read_timeout: float) -> httpx.Client:
    """The one httpx client factory: explicit timeouts, no redirects (a redirect is an answer to
    classify, not a place to send the payload again), keep-alive pool."""
    return httpx.Client(
        timeout=httpx.Timeout(connect=connect_timeout, read=read_timeout, write=read_timeout,
                              pool=connect_timeout),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=30),
        headers={"User-Agent": USER_AGENT},
    )


def json_body(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


# A payload that is a finished document (a B2MML work order) rather than canonical data:
# {"$document": {"media_type": "application/xml", "text": "<?xml …"}}. It travels as stored —
# the exact bytes, with its own media type — never re-encoded as JSON.
DOCUMENT_KEY = "$document"


def document_payload(*, media_type: str, text: str) -> dict[str, dict[str, str]]:
    return {DOCUMENT_KEY: {"media_type": media_type, "text": text}}


def payload_body(payload: Any) -> tuple[bytes, str]:
    """The request body and its Content-Type for an outbound payload."""
    if isinstance(payload, dict) and set(payload) == {DOCUMENT_KEY}:
        document = payload[DOCUMENT_KEY]
        return document["text"].encode(), document["media_type"]
    return json_body(payload), "application/json"


def join_url(base_url: str, path: str) -> str:
    if not path:
        return base_url
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After is either delay-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def classify_response(response: httpx.Response) -> Classification:
    status = response.status_code
    excerpt = response.text[:BODY_EXCERPT_CHARS]
    if 200 <= status < 300:
        return Classification(Outcome.DELIVERED, status, body_excerpt=excerpt)
    if status >= 500 or status in RETRYABLE_STATUS:
        return Classification(Outcome.RETRY, status, f"http-{status}",
                              f"the peer answered {status}",
                              retry_after=parse_retry_after(response.headers.get("Retry-After")),
                              body_excerpt=excerpt)
    return Classification(Outcome.DEAD, status, f"http-{status}",
                          f"the peer refused the message with {status}", body_excerpt=excerpt)


def classify_exception(exc: Exception) -> Classification:
    if isinstance(exc, MappingError):
        return Classification(Outcome.DEAD, error_class="mapping", detail=str(exc))
    if isinstance(exc, httpx.TimeoutException):
        return Classification(Outcome.RETRY, error_class="timeout",
                              detail=f"{type(exc).__name__}: {exc}")
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        # A wrong base URL or a header we cannot send: configuration, not the network.
        return Classification(Outcome.DEAD, error_class="configuration",
                              detail=f"{type(exc).__name__}: {exc}")
    if isinstance(exc, httpx.TransportError):
        return Classification(Outcome.RETRY, error_class="connection",
                              detail=f"{type(exc).__name__}: {exc}")
    return Classification(Outcome.DEAD, error_class="connector-error",
                          detail=f"{type(exc).__name__}: {exc}")


class Connector(ABC):
    """One kind of peer. Subclasses implement `build`; `send` and `classify` have the common
    HTTP behaviour and may be refined (a peer that answers 200 with an error body)."""

    name: ClassVar[str]

    @abstractmethod
    def build(self, envelope: OutboundEnvelope, peer: PeerConfig) -> PeerRequest:
        """The peer's request for this message; raises MappingError when it cannot be made.
        Every request carries the message's Idempotency-Key."""

    def send(self, client: httpx.Client, request: PeerRequest, *,
             deadline: float | None = None) -> httpx.Response:
        outgoing = client.build_request(request.method, request.url,
                                        headers=dict(request.headers), content=request.body)
        if deadline is None:
            return client.send(outgoing)
        outgoing.extensions["timeout"] = DeadlineTimeouts(outgoing.extensions["timeout"], deadline)
        # httpcore looks the read timeout up once for the whole body: a peer that trickles its
        # answer is stopped here, between chunks.
        response = client.send(outgoing, stream=True)
        try:
            chunks = []
            for chunk in response.iter_raw():
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("the answer did not end before the send's deadline",
                                            request=outgoing)
        finally:
            response.close()
        # Raw (still encoded) bytes with the original headers: decoded once, when read.
        return httpx.Response(response.status_code, headers=response.headers,
                              content=b"".join(chunks), request=outgoing)

    def classify(self, response: httpx.Response) -> Classification:
        return classify_response(response)

    def deliver(self, client: httpx.Client, envelope: OutboundEnvelope, peer: PeerConfig, *,
                deadline: float | None = None) -> DeliveryResult:
        """Send one message and classify the answer. With a `deadline` (time.monotonic()) the
        whole exchange ends by then, whatever the peer does: see DeadlineTimeouts."""
        started_at = datetime.now(UTC)
        started = time.monotonic()
        summary = ""
        try:
            request = self.build(envelope, peer)
            summary = request.summary()
            classification = self.classify(self.send(client, request, deadline=deadline))
        except Exception as exc:  # every failure becomes a classified attempt, never a crash
            classification = classify_exception(exc)
        duration_ms = int((time.monotonic() - started) * 1000)
        return DeliveryResult(classification, summary, started_at, duration_ms)


def standard_headers(envelope: OutboundEnvelope) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Idempotency-Key": envelope.idempotency_key,
        "X-Correlation-ID": envelope.correlation_id,
        "X-Thread-Topic": envelope.topic,
        "X-Thread-Message-ID": str(envelope.message_id),
    }
