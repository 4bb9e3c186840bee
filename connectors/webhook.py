"""Generic webhook: a JSON envelope POSTed to one URL, signed with HMAC-SHA256.

Body:
    {"id": <idempotency key>, "topic": ..., "ordering_key": ..., "correlation_id": ...,
     "created_at": <ISO 8601>, "data": <canonical payload>}

Header `Thread-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
The timestamp is inside the signed text so a captured request cannot be replayed later than the
receiver's tolerance; `verify_signature` is the reference check for receivers (docs/outbox.md).
The secret is the system's credential (required). Option `path` appends to the base URL.
"Test connection" checks that the secret is set and that the receiver answers a GET.
"""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx

from .base import (
    Connector,
    MappingError,
    OutboundEnvelope,
    PeerConfig,
    PeerRequest,
    ProbeReport,
    answer_problem,
    join_url,
    json_body,
    public_url,
    read_credential,
    standard_headers,
)

SIGNATURE_HEADER = "Thread-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(*, secret: str, header: str, body: bytes,
                     tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
                     now: float | None = None) -> bool:
    """True when `header` is a valid Thread-Signature of `body` made within the tolerance."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance_seconds:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


class WebhookConnector(Connector):
    name = "webhook"

    def auth_headers(self, peer: PeerConfig) -> dict[str, str]:
        """None: a webhook proves itself by signing each body; its secret never travels."""
        return {}

    def probe(self, client: httpx.Client, peer: PeerConfig, *,
              deadline: float | None = None) -> ProbeReport:
        """Only what can be checked without a message: the signing secret is set, and the
        receiver answers at all (a GET of the webhook's URL, or of the option `probe_path`: any
        answer but a 5xx — a receiver that takes only POSTs answers 405). Whether it accepts
        the signature shows on the first delivery."""
        if not peer.credential_name:
            return ProbeReport(False, "credential missing — a webhook needs a credential name "
                                      "for its signing secret")
        try:
            read_credential(peer.credential_name)
        except MappingError as exc:
            return ProbeReport(False, f"credential missing — {exc}")
        url = join_url(peer.base_url, str(peer.options.get("probe_path")
                                          or peer.options.get("path") or ""))
        steps, response, problem = self.probe_get(client, peer, url, headers={},
                                                  deadline=deadline)
        if response is None:
            return ProbeReport(False, problem, steps)
        if response.status_code >= 500:
            return ProbeReport(False, answer_problem(response, url, peer), steps)
        return ProbeReport(True, f"connection OK — GET {public_url(url)} "
                                 f"{response.status_code}: the receiver answers and the signing "
                                 f"secret {peer.credential_name} is set", steps)

    def build(self, envelope: OutboundEnvelope, peer: PeerConfig) -> PeerRequest:
        if not peer.credential_name:
            raise MappingError(f"{peer.system_name}: a webhook needs a credential name for its "
                               "signing secret")
        secret = read_credential(peer.credential_name)
        body = json_body({
            "id": envelope.idempotency_key,
            "topic": envelope.topic,
            "ordering_key": envelope.ordering_key,
            "correlation_id": envelope.correlation_id,
            "created_at": envelope.created_at.isoformat(),
            "data": envelope.payload,
        })
        headers = standard_headers(envelope)
        headers[SIGNATURE_HEADER] = sign(secret, body, int(time.time()))
        return PeerRequest("POST", join_url(peer.base_url, str(peer.options.get("path") or "")),
                           headers, body)
