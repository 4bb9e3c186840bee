"""Generic webhook: a JSON envelope POSTed to one URL, signed with HMAC-SHA256.

Body:
    {"id": <idempotency key>, "topic": ..., "ordering_key": ..., "correlation_id": ...,
     "created_at": <ISO 8601>, "data": <canonical payload>}

Header `Thread-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
The timestamp is inside the signed text so a captured request cannot be replayed later than the
receiver's tolerance; `verify_signature` is the reference check for receivers (docs/outbox.md).
The secret is the system's credential (required). Option `path` appends to the base URL.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from .base import (
    Connector,
    MappingError,
    OutboundEnvelope,
    PeerConfig,
    PeerRequest,
    join_url,
    json_body,
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
