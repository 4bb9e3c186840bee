"""Generic REST/JSON peer: the canonical payload as the JSON body (a finished document, such as
a B2MML work order, as its own bytes and media type), one path per topic.

Options (ExternalSystem.connector_options):
    {"paths": {"mbom.version": "/api/boms", "*": "/api/thread/{topic}"},
     "method": "POST",
     "auth_header": "Authorization",
     "probe_path": "/api/health"}

`paths` maps a topic to a path under the base URL; "*" is the fallback and may use `{topic}`.
A topic with neither is a mapping error (dead letter): sending it somewhere by guess could
apply it to the wrong resource. With a credential name set, the secret goes in `auth_header`
as `Bearer <secret>` (Authorization) or as the bare value (any other header): the common
convention of `Connector.auth_headers`, which "Test connection" uses too.

"Test connection" GETs the base URL joined with the option `probe_path` (e.g. "/api/health"),
authenticated the same way; it writes nothing.
"""

from __future__ import annotations

from .base import (
    Connector,
    MappingError,
    OutboundEnvelope,
    PeerConfig,
    PeerRequest,
    join_url,
    payload_body,
    standard_headers,
)


class RestJsonConnector(Connector):
    name = "rest"

    def build(self, envelope: OutboundEnvelope, peer: PeerConfig) -> PeerRequest:
        paths = peer.options.get("paths") or {}
        path = paths.get(envelope.topic)
        if path is None and "*" in paths:
            path = paths["*"].replace("{topic}", envelope.topic)
        if path is None:
            raise MappingError(f"no path configured for topic {envelope.topic!r} on "
                               f"{peer.system_name} (connector option 'paths')")
        headers = standard_headers(envelope)
        headers.update(self.auth_headers(peer))
        method = str(peer.options.get("method") or "POST").upper()
        body, headers["Content-Type"] = payload_body(envelope.payload)
        return PeerRequest(method, join_url(peer.base_url, path), headers, body)
