"""Connectors that converge on the peer's state (docs/connectors.md, "The converging pattern").

ERPs and inventory systems take no Idempotency-Key. A converging connector delivers one message
as a short conversation instead of one request: read what the peer holds now, compute the
difference from the canonical payload, apply only that, and return the ids the peer assigned.
A retry, a lost answer or a replay then reads again and finds less (or nothing) to do, so the
peer ends exactly as one delivery would leave it — including after a delivery cut off halfway.

The conversation records every request as a `PeerStep` for the attempt log; any answer outside
2xx ends the delivery and is classified by the one rule in `base.py` (5xx, 408, 425, 429 and
network failures retried; other 4xx dead with the peer's message). Ids the peer assigned are
returned in `DeliveryResult.peer_ids` even when the delivery fails halfway; the outbox records
them (thread.flows.peer_ids) and passes them back in `OutboundEnvelope.known_ids`.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

import httpx

from .base import (
    BODY_EXCERPT_CHARS,
    Classification,
    Connector,
    DeliveryResult,
    MappingError,
    OutboundEnvelope,
    Outcome,
    PeerConfig,
    PeerId,
    PeerRequest,
    PeerStep,
    ProbeReport,
    classify_exception,
    join_url,
    json_body,
)

STEP_EXCERPT_CHARS = 300
PAGE_SIZE = 100
MAX_PAGES = 1000  # a peer whose "next" never ends is a fault, not a reason to loop forever


@dataclass(frozen=True)
class Difference:
    """One way the peer's state differs from what Thread delivered (drift): the object (its
    natural key, "BK-100|A/20" for a BOM line), the field ("" for the whole object) and both
    values as text ("" where there is none: missing at the peer, or extra there)."""

    object: str
    field: str
    thread: str
    peer: str


@dataclass(frozen=True)
class ReadBack:
    """What a read-back found: `classification` says whether the peer could be read at all
    (delivered = read completely); the differences are only meaningful then."""

    classification: Classification
    differences: tuple[Difference, ...]
    steps: tuple[PeerStep, ...]
    peer_ids: tuple[PeerId, ...]


class PeerRefused(Exception):
    """A step's answer that ends the delivery, classified."""

    def __init__(self, classification: Classification) -> None:
        super().__init__(classification.detail)
        self.classification = classification


class Conversation:
    """The requests of one delivery to one peer, recorded as steps, within one deadline."""

    def __init__(self, connector: ConvergingConnector, client: httpx.Client, peer: PeerConfig, *,
                 deadline: float | None, known_ids: Mapping[tuple[str, str], str]) -> None:
        self.connector, self.client, self.peer, self.deadline = connector, client, peer, deadline
        self.steps: list[PeerStep] = []
        self.ids: dict[tuple[str, str], str] = dict(known_ids)
        self.learnt: dict[tuple[str, str], str] = {}
        self.writes = 0

    # --- ids -----------------------------------------------------------------------------

    def known(self, kind: str, key: str) -> str | None:
        return self.ids.get((kind, key)) or None

    def remember(self, kind: str, key: str, peer_id: Any) -> None:
        value = "" if peer_id is None else str(peer_id)
        if self.ids.get((kind, key)) != value:
            self.learnt[(kind, key)] = value
        if value:
            self.ids[(kind, key)] = value
        else:
            self.ids.pop((kind, key), None)

    def forget(self, kind: str, key: str) -> None:
        """The peer no longer has it (deleted by hand): found again by natural key next."""
        self.remember(kind, key, None)

    def peer_ids(self) -> tuple[PeerId, ...]:
        return tuple(PeerId(kind, key, peer_id) for (kind, key), peer_id in self.learnt.items())

    # --- requests ------------------------------------------------------------------------

    def url(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        url = path if path.startswith(("http://", "https://")) else join_url(self.peer.base_url,
                                                                              path)
        return f"{url}?{urlencode(params, doseq=True)}" if params else url

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                body: Any = None, missing_ok: bool = False, writes: bool | None = None,
                step: str = "") -> Any:
        """One request; returns the decoded JSON answer (None for an empty one, or for a 404
        when `missing_ok`). Any other answer outside 2xx raises PeerRefused. `writes` says
        whether it changes the peer (default: any method but GET; an RPC peer reads with POST
        too); `step` names the call in the attempt log where the URL does not ("mrp.bom
        write")."""
        headers = {"Accept": "application/json", **self.connector.auth_headers(self.peer)}
        content = b""
        if body is not None:
            headers["Content-Type"] = "application/json"
            content = json_body(body)
        request = PeerRequest(method, self.url(path, params), headers, content)
        response = self.connector.send(self.client, request, deadline=self.deadline)
        text = response.text
        self.steps.append(PeerStep(method, f"{request.url} {step}".strip(),
                                   response.status_code, text[:STEP_EXCERPT_CHARS]))
        if missing_ok and response.status_code == 404:
            return None
        classification = self.connector.classify(response)
        if classification.outcome != Outcome.DELIVERED:
            detail = (f"{method} {request.url} answered {response.status_code}: "
                      f"{self.connector.answer_text(response)}")
            raise PeerRefused(Classification(
                classification.outcome, classification.status_code, classification.error_class,
                detail, classification.retry_after, text[:BODY_EXCERPT_CHARS]))
        if method != "GET" if writes is None else writes:
            self.writes += 1
        return response.json() if text.strip() else None

    def list(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[Any]:
        """Every item of a paginated list: always with `limit`, following `next` to the end."""
        answer = self.request("GET", path, params={**(params or {}), "limit": PAGE_SIZE})
        for _ in range(MAX_PAGES):
            if isinstance(answer, list):  # a peer that ignores pagination
                yield from answer
                return
            yield from answer.get("results", [])
            next_url = answer.get("next")
            if not next_url:
                return
            answer = self.request("GET", next_url)
        raise MappingError(f"{path}: more than {MAX_PAGES} pages")


class ConvergingConnector(Connector):
    """A connector that delivers by converging (see the module docstring). Subclasses implement
    `converge`; `build` is not used."""

    converges: ClassVar[bool] = True

    def build(self, envelope: OutboundEnvelope, peer: PeerConfig) -> PeerRequest:
        raise MappingError(f"{self.name} delivers by converging, not by one request")

    def probe_with(self, client: httpx.Client, peer: PeerConfig, *, deadline: float | None,
                   checks: Callable[[Conversation], tuple[bool, str]]) -> ProbeReport:
        """"Test connection" as a conversation: `checks` answers (ok, summary) or raises, and
        every failure becomes a plain sentence with the requests it made."""
        conversation = Conversation(self, client, peer, deadline=deadline, known_ids={})
        try:
            ok, summary = checks(conversation)
        except MappingError as exc:
            ok, summary = False, f"configuration — {exc}"
        except PeerRefused as refused:
            ok, summary = False, refused.classification.detail
        except httpx.HTTPError as exc:
            ok, summary = False, f"{type(exc).__name__}: {exc}"
        return ProbeReport(ok, summary, tuple(conversation.steps))

    def answer_text(self, response: httpx.Response) -> str:
        """A refusal's text as the delivery's error shows it (a peer may word it better)."""
        return response.text[:500]

    @abstractmethod
    def converge(self, conversation: Conversation, envelope: OutboundEnvelope,
                 peer: PeerConfig) -> str:
        """Make the peer hold what the message says; returns a one-line summary of what
        was done ("3 parts created, 2 BOM items changed, BOM validated")."""

    @abstractmethod
    def compare(self, conversation: Conversation, envelope: OutboundEnvelope,
                peer: PeerConfig) -> list[Difference]:
        """Read the peer's state of what the message delivered, with GETs only, and return how
        it differs from the message: exactly what a delivery of it would change."""

    def read_back(self, client: httpx.Client, envelope: OutboundEnvelope, peer: PeerConfig, *,
                  deadline: float | None = None) -> ReadBack:
        """Drift: `compare`, with every failure classified as a delivery's would be."""
        conversation = Conversation(self, client, peer, deadline=deadline,
                                    known_ids=envelope.known_ids)
        differences: list[Difference] = []
        try:
            differences = self.compare(conversation, envelope, peer)
            last = conversation.steps[-1].status if conversation.steps else None
            classification = Classification(Outcome.DELIVERED, last)
        except PeerRefused as refused:
            classification = refused.classification
        except Exception as exc:  # every failure is reported, never a crash
            classification = classify_exception(exc)
        if conversation.writes:  # a read-back that wrote would be a defect: say so loudly
            raise RuntimeError(f"{self.name}: read-back made {conversation.writes} writes")
        return ReadBack(classification, tuple(differences), tuple(conversation.steps),
                        conversation.peer_ids())

    def deliver(self, client: httpx.Client, envelope: OutboundEnvelope, peer: PeerConfig, *,
                deadline: float | None = None) -> DeliveryResult:
        started_at = datetime.now(UTC)
        started = time.monotonic()
        conversation = Conversation(self, client, peer, deadline=deadline,
                                    known_ids=envelope.known_ids)
        try:
            summary = self.converge(conversation, envelope, peer)
            last = conversation.steps[-1].status if conversation.steps else None
            classification = Classification(Outcome.DELIVERED, last, body_excerpt=summary)
        except PeerRefused as refused:
            classification = refused.classification
            summary = ""
        except Exception as exc:  # every failure becomes a classified attempt, never a crash
            classification = classify_exception(exc)
            summary = ""
        requests = len(conversation.steps)
        text = (f"{requests} request{'s' if requests != 1 else ''}, "
                f"{conversation.writes} write{'s' if conversation.writes != 1 else ''}"
                + (f": {summary}" if summary else ""))
        return DeliveryResult(classification, text[:600], started_at,
                              int((time.monotonic() - started) * 1000),
                              steps=tuple(conversation.steps), peer_ids=conversation.peer_ids())
