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
import socket
import ssl
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

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
    # The ids this system assigned to Thread's objects, as recorded by earlier deliveries:
    # {(kind, natural key): peer id}. Only converging connectors read them.
    known_ids: Mapping[tuple[str, str], str] = field(default_factory=dict)


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
class PeerStep:
    """One request of a delivery (a converging connector makes several), as an operator reads
    it in the attempt log: never a credential, the answer cut to an excerpt."""

    method: str
    url: str
    status: int | None
    excerpt: str = ""


@dataclass(frozen=True)
class PeerId:
    """An id the peer assigned to one of Thread's objects, by Thread's natural key: the part
    "BK-100|B" is InvenTree part 42. The delivery records it so the next message for the same
    object starts from it."""

    kind: str
    key: str
    peer_id: str


@dataclass(frozen=True)
class DeliveryResult:
    classification: Classification
    request_summary: str
    started_at: datetime
    duration_ms: int
    steps: tuple[PeerStep, ...] = ()
    peer_ids: tuple[PeerId, ...] = ()


@dataclass(frozen=True)
class ProbeReport:
    """What "test connection" found: `ok`, or `problem` in plain words (DNS, refused, TLS, 401,
    403, an unsupported version), and the requests it made."""

    ok: bool
    summary: str
    steps: tuple[PeerStep, ...] = ()


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
    # The topics whose delivered state this connector can read back (drift); none for a
    # connector that only sends (rest, webhook).
    readable_topics: ClassVar[frozenset[str]] = frozenset()
    # The topics it delivers by its own mapping (InvenTree: mBOMs; Odoo: mBOMs and routings);
    # None: whatever the system's options route (rest, webhook). Thread writes a topic that only
    # some peers take (routing.released) only to a system whose connector names it here.
    topics: ClassVar[frozenset[str] | None] = None

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

    def auth_headers(self, peer: PeerConfig) -> dict[str, str]:
        """The headers that authenticate Thread at this peer, for `build` and `probe` alike.
        The common convention: with a credential name, its secret as `Bearer <secret>` in
        Authorization, or bare in the header the option `auth_header` names; none without.
        Raises MappingError when the secret cannot be read. A peer with another scheme (a
        `Token` header, a signature over the body) overrides it."""
        if not peer.credential_name:
            return {}
        secret = read_credential(peer.credential_name)
        header = str(peer.options.get("auth_header") or "Authorization")
        return {header: f"Bearer {secret}" if header.lower() == "authorization" else secret}

    def probe(self, client: httpx.Client, peer: PeerConfig, *,
              deadline: float | None = None) -> ProbeReport:
        """"Test connection": authenticate as a delivery would and read one harmless URL — GET
        the base URL joined with the option `probe_path` — then say in plain words what is
        wrong (DNS, refused, TLS, timeout, 401, 403, 404, 5xx, a missing credential). Writes
        nothing at the peer. A connector whose peer has a better probe (a version endpoint)
        overrides it and may reuse `probe_get` and `answer_problem`."""
        try:
            headers = self.auth_headers(peer)
        except MappingError as exc:
            return ProbeReport(False, f"credential missing — {exc}")
        url = join_url(peer.base_url, str(peer.options.get("probe_path") or ""))
        steps, response, problem = self.probe_get(client, peer, url, headers=headers,
                                                  deadline=deadline)
        if response is None:
            return ProbeReport(False, problem, steps)
        problem = answer_problem(response, url, peer, secrets=header_secrets(headers))
        if problem:
            return ProbeReport(False, problem, steps)
        return ProbeReport(True, f"connection OK — GET {public_url(url)} {response.status_code}",
                           steps)

    def probe_get(self, client: httpx.Client, peer: PeerConfig, url: str, *,
                  headers: Mapping[str, str], deadline: float | None = None,
                  ) -> tuple[tuple[PeerStep, ...], httpx.Response | None, str]:
        """One GET of a probe, through `send` (so within the deadline): its step, and the
        answer — or None and what went wrong in plain words (no step when nothing was sent).
        Neither the step nor the text ever holds a credential: the secrets of `headers` are
        blanked out of every excerpt before it is cut."""
        if not peer.base_url:
            return (), None, "no base URL is configured: Thread does not know where this system is"
        secrets_ = header_secrets(headers)
        shown = public_url(url)
        try:
            response = self.send(client, PeerRequest("GET", url, headers, b""), deadline=deadline)
        except Exception as exc:  # every failure is reported in words, never a crash
            excerpt = redact(f"{type(exc).__name__}: {exc}", secrets_)[:PROBE_EXCERPT_CHARS]
            return ((PeerStep("GET", shown, None, excerpt),), None,
                    redact(connection_problem(exc, url, peer), secrets_))
        excerpt = redact(response.text, secrets_)[:PROBE_EXCERPT_CHARS]
        return (PeerStep("GET", shown, response.status_code, excerpt),), response, ""


def standard_headers(envelope: OutboundEnvelope) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Idempotency-Key": envelope.idempotency_key,
        "X-Correlation-ID": envelope.correlation_id,
        "X-Thread-Topic": envelope.topic,
        "X-Thread-Message-ID": str(envelope.message_id),
    }


# --- "Test connection": what a probe found, in plain words ---------------------------------

PROBE_EXCERPT_CHARS = 200
PROBE_REASON_CHARS = 120  # of a peer's unexpected answer, in the sentence itself
REDACTED = "***"
# The reasons OpenSSL gives when the other side does not speak TLS at all (plain HTTP).
_NOT_TLS_REASONS = frozenset({"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "UNKNOWN_PROTOCOL",
                              "HTTP_REQUEST", "PACKET_LENGTH_TOO_LONG"})
_NAME_NOT_FOUND = frozenset(getattr(socket, name) for name in ("EAI_NONAME", "EAI_NODATA")
                            if hasattr(socket, name))


def public_url(url: str) -> str:
    """A URL as shown to people: without any user:password@ part."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def header_secrets(headers: Mapping[str, str]) -> tuple[str, ...]:
    """The secrets in authentication headers: each value, and its token after a scheme
    ("Bearer x", "Token x")."""
    found = set()
    for value in headers.values():
        if value:
            found.add(value)
            found.add(value.split()[-1] if value.split() else value)
    return tuple(sorted(found, key=len, reverse=True))


def redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps: httpx wraps httpcore's error, which holds the OS's
    (socket.gaierror, ConnectionRefusedError, ssl.SSLError) as its argument and context."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop(0)
        if current is None or any(current is known for known in seen):
            continue
        seen.append(current)
        todo += [current.__cause__, current.__context__,
                 *(arg for arg in current.args if isinstance(arg, BaseException))]
    return seen


def _host(url: str) -> tuple[str, str]:
    """The host, and host:port (the scheme's default port when none is given)."""
    try:
        parsed = httpx.URL(url)
    except Exception:  # an unparseable URL is reported by the request itself
        return url, url
    port = parsed.port or {"https": 443, "http": 80}.get(parsed.scheme, 0)
    return parsed.host, f"{parsed.host}:{port}"


def connection_problem(exc: Exception, url: str, peer: PeerConfig) -> str:
    """What a failed request means, in plain words, for an operator: the DNS name is not
    found, the connection is refused, TLS or the certificate failed, the peer timed out."""
    host, hostport = _host(url)
    causes = _causes(exc)
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return (f"timeout — no connection to {hostport} within {peer.connect_timeout:g} s "
                "(the host is down, or a firewall drops the packets)")
    if isinstance(exc, httpx.TimeoutException):
        return (f"timeout — {hostport} took the connection but did not answer within "
                f"{peer.read_timeout:g} s")
    for cause in causes:
        if isinstance(cause, socket.gaierror):
            if cause.errno in _NAME_NOT_FOUND:
                return (f"DNS name not found — {host} does not exist: check the host name in "
                        "the base URL")
            return (f"DNS lookup failed — {host} could not be resolved ({cause.strerror}): is a "
                    "DNS server reachable from Thread?")
    for cause in causes:
        if isinstance(cause, ConnectionRefusedError):
            return (f"connection refused — nothing accepts connections on {hostport}: is the "
                    "service running, the port right, or does a firewall reject it?")
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError) or (
                isinstance(cause, ssl.SSLError) and "CERTIFICATE_VERIFY_FAILED" in str(cause)):
            reason = getattr(cause, "verify_message", "") or str(cause)
            return (f"TLS certificate problem — the certificate of {hostport} is not trusted: "
                    f"{reason} (CERTIFICATE_VERIFY_FAILED)")
    for cause in causes:
        if isinstance(cause, ssl.SSLError):
            reason = getattr(cause, "reason", None) or str(cause)
            hint = (" — it does not speak TLS on this port: should the base URL start with "
                    "http://?" if reason in _NOT_TLS_REASONS else "")
            return f"TLS problem — the TLS handshake with {hostport} failed ({reason}){hint}"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return f"the base URL cannot be used — {exc}"
    if isinstance(exc, httpx.RemoteProtocolError):
        return (f"broken answer — {hostport} closed the connection or did not answer in HTTP "
                f"({exc})")
    if isinstance(exc, httpx.ConnectError):
        return f"no connection to {hostport} — {exc}"
    if isinstance(exc, httpx.TransportError):
        return f"the connection to {hostport} broke — {type(exc).__name__}: {exc}"
    return f"the probe failed — {type(exc).__name__}: {exc}"


def answer_problem(response: httpx.Response, url: str, peer: PeerConfig, *,
                   secrets: tuple[str, ...] = ()) -> str:
    """What a probe's answer means when it is not a success, in plain words ("" for a 2xx).
    A 401 names the credential's variable, never its value; an unexpected answer (another 4xx)
    quotes the start of what the peer said, with the `secrets` it echoes blanked out."""
    status = response.status_code
    got = f"GET {public_url(url)} answered {status}"
    credential = peer.credential_name
    if 200 <= status < 300:
        return ""
    if status == 401:
        if credential:
            return (f"credential refused — {got}: the peer does not accept the secret in "
                    f"{credential} (wrong, expired or revoked?)")
        return (f"credential refused — {got}: the peer wants a credential and none is "
                "configured (the system's credential name)")
    if status == 403:
        return (f"authenticated but not allowed — {got}: the peer knows the credential"
                + (f" in {credential}" if credential else "")
                + " but its user may not read this")
    if status == 404:
        return (f"probe path not found — {got}: check the base URL and the connector option "
                "probe_path")
    if status >= 500:
        return f"the peer has a problem — {got}, an error on its side"
    if 300 <= status < 400:
        location = public_url(response.headers.get("Location", ""))
        return (f"redirected — {got}" + (f" to {location}" if location else "")
                + ": Thread does not follow redirects; put the final address in the base URL")
    said = " ".join(redact(response.text, secrets).split())[:PROBE_REASON_CHARS]
    return f"unexpected answer — {got}" + (f": {said}" if said else "")
