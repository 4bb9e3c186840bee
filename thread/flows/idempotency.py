"""The inbox: every push is stored before it is processed, and made idempotent.

Used by every POST/PUT/PATCH endpoint through `IdempotentWritesMixin` (model viewsets) or the
`idempotent` decorator (actions). For a system, `Idempotency-Key` is required; the pair
(caller, key) identifies the request:

* first time: an InboundMessage row is committed as `processing`, then the handler runs in one
  transaction together with the row's final update, so the domain writes and the stored
  response commit or roll back together;
* same key, same body, finished: the stored response is replayed (`Idempotent-Replayed: true`);
* same key, other body: 422 `idempotency-key-reused`;
* same key while the first is still running: 409 `idempotency-key-in-use`, unless that first
  request has been `processing` longer than THREAD_IDEMPOTENCY_STALE_SECONDS (it crashed), or
  it failed with an unexpected error: then the key may be used again.

A refused request (4xx) keeps its row with the problem response: the one write a bad request
is allowed to make.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from thread.api.problems import PROBLEM_CONTENT_TYPE, problem_exception_handler, problem_response
from thread.errors import settle

from .choices import InboundStatus
from .models import InboundMessage
from .permissions import calling_system

IDEMPOTENCY_HEADER = "Idempotency-Key"
CORRELATION_HEADER = "X-Correlation-ID"
MAX_KEY_LENGTH = 255
KEY_PATTERN = re.compile(rf"[!-~]{{1,{MAX_KEY_LENGTH}}}")  # as the OpenAPI schema documents it


def _correlation_id(request: Request) -> str:
    given = request.headers.get(CORRELATION_HEADER, "").strip()
    return given[:100] if given else uuid.uuid4().hex


def _body_hash(request: Request, body: bytes, *, canonical: bool = True) -> str:
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    digest.update(canonical_body(body, request.content_type or "") if canonical else body)
    return digest.hexdigest()


def canonical_body(body: bytes, content_type: str) -> bytes:
    """What makes two bodies "the same request": a JSON body by its meaning (key order,
    whitespace and number spelling — 1.50 is 1.5 — do not count), anything else (XML, files)
    by its bytes. The one canonical form, for the inbox and whatever later compares pushes."""
    if not content_type.startswith("application/json"):
        return body
    try:
        data = json.loads(body, parse_float=Decimal, parse_int=Decimal)
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                          default=_canonical_number).encode()
    except (ValueError, RecursionError, ArithmeticError):  # not JSON (or no number): its bytes
        return body


def _canonical_number(number: Decimal) -> dict[str, str]:
    # marked, so that the number 1.5 and the text "1.5" stay different
    return {"#number": format(number.normalize(), "f") if number.is_finite() else str(number)}


def _storable_text(text: str) -> str:
    """Text PostgreSQL can store whatever a caller sent: NUL shown as \\u0000, a lone
    surrogate as its escape. The inbox records every request, the refused ones too."""
    return text.replace("\x00", "\\u0000").encode("utf-8", "backslashreplace").decode("utf-8")


def _storable(data: Any) -> Any:
    """`data` (a response body) with every string made storable (no recursion: a body may nest
    deeply)."""
    if isinstance(data, str):
        return _storable_text(data)
    if not isinstance(data, dict | list):
        return data
    root: Any = {} if isinstance(data, dict) else []
    stack = [(data, root)]
    while stack:
        source, target = stack.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, value in items:
            if isinstance(value, dict | list):
                copy: Any = {} if isinstance(value, dict) else []
                stack.append((value, copy))
                value = copy
            elif isinstance(value, str):
                value = _storable_text(value)
            if isinstance(target, dict):
                target[_storable_text(str(key))] = value
            else:
                target.append(value)
    return root


def _body_text(body: bytes) -> str:
    return _storable_text(body.decode("utf-8", errors="replace"))


def _finish(message: InboundMessage, response: Response, status: str, error: str = "") -> None:
    message.status = status
    message.response_status = response.status_code
    message.response_body = _storable(response.data)
    message.completed_at = timezone.now()
    message.error = error
    message.save(update_fields=["status", "response_status", "response_body", "completed_at",
                                "error"])


def _replay(message: InboundMessage) -> Response:
    response = Response(message.response_body, status=message.response_status,
                        headers={"Idempotent-Replayed": "true"})
    if message.response_status >= 400:
        response.content_type = PROBLEM_CONTENT_TYPE
    return response


def _record_refusal(request: Request, system, key: str | None, size: int, response: Response,
                    correlation_id: str, body: bytes = b"") -> Response:
    """A request refused before processing still leaves its trace in the inbox."""
    now = timezone.now()
    InboundMessage.objects.create(
        caller=request.user, system=system, idempotency_key=None, method=request.method,
        path=request.path[:500], body_hash=_body_hash(request, body), body_bytes=size,
        body=_body_text(body), correlation_id=correlation_id,
        status=InboundStatus.REJECTED, received_at=now, completed_at=now,
        response_status=response.status_code, response_body=_storable(response.data),
        error=f"refused before processing (Idempotency-Key {key!r})" if key else "",
    )
    return response


def _claim(request: Request, system, key: str | None, body: bytes, body_hash: str,
           correlation_id: str) -> InboundMessage | Response:
    fields = dict(
        caller=request.user, system=system, idempotency_key=key, method=request.method,
        path=request.path[:500], body_hash=body_hash, body=_body_text(body),
        body_bytes=len(body), correlation_id=correlation_id, status=InboundStatus.PROCESSING,
        received_at=timezone.now(),
    )
    try:
        with transaction.atomic():
            return InboundMessage.objects.create(**fields)
    except IntegrityError:
        pass
    existing = InboundMessage.objects.get(caller=request.user, idempotency_key=key)
    # a key recorded before bodies were compared by meaning still matches its own bytes
    if existing.body_hash not in (body_hash, _body_hash(request, body, canonical=False)):
        return problem_response(
            "idempotency-key-reused",
            f"Idempotency-Key {key!r} was first used for another request "
            f"({existing.method} {existing.path} at {existing.received_at.isoformat()}).",
        )
    if existing.status in (InboundStatus.ACCEPTED, InboundStatus.REJECTED):
        return _replay(existing)
    stale_before = timezone.now() - timedelta(seconds=settings.THREAD_IDEMPOTENCY_STALE_SECONDS)
    retryable = existing.status == InboundStatus.FAILED or existing.received_at < stale_before
    if retryable:
        # Take the key over only if nobody else did in the meantime (conditional update).
        taken = InboundMessage.objects.filter(
            pk=existing.pk, status=existing.status, received_at=existing.received_at
        ).update(status=InboundStatus.PROCESSING, received_at=fields["received_at"],
                 correlation_id=correlation_id, error="")
        if taken:
            existing.refresh_from_db()
            return existing
    return problem_response(
        "idempotency-key-in-use",
        f"A request with Idempotency-Key {key!r} is still being processed; retry later.",
        headers={"Retry-After": "1"},
    )


def run_idempotent(view, request: Request, handler: Callable[[], Response],
                   max_bytes: int | None = None) -> Response:
    system = calling_system(request)
    correlation_id = _correlation_id(request)
    request.correlation_id = correlation_id
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip() or None
    limit = max_bytes or settings.THREAD_MAX_REQUEST_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        refusal = problem_response("malformed-body", "The Content-Length header is not a number.")
        return _record_refusal(request, system, key, 0, refusal, correlation_id)
    too_large = problem_response(
        "payload-too-large", f"The request body exceeds this endpoint's limit of {limit} bytes."
    )
    if declared > limit:
        return _record_refusal(request, system, key, declared, too_large, correlation_id)
    try:
        body = request.body
    except RequestDataTooBig:
        return _record_refusal(request, system, key, declared, too_large, correlation_id)
    if len(body) > limit:
        return _record_refusal(request, system, key, len(body), too_large, correlation_id)

    if key is None and system is not None:
        refusal = problem_response(
            "idempotency-key-missing",
            f"Every push needs an {IDEMPOTENCY_HEADER} header, unique per request.",
        )
        return _record_refusal(request, system, key, len(body), refusal, correlation_id, body)
    if key is not None and not KEY_PATTERN.fullmatch(key):
        refusal = problem_response(
            "validation-error", f"{IDEMPOTENCY_HEADER} is 1 to {MAX_KEY_LENGTH} printable ASCII "
                                "characters without spaces (a UUID is a good one)."
        )
        return _record_refusal(request, system, None, len(body), refusal, correlation_id, body)

    claimed = _claim(request, system, key, body, _body_hash(request, body), correlation_id)
    if isinstance(claimed, Response):
        return claimed
    message = claimed
    request.inbound_message = message
    try:
        with transaction.atomic():
            response = handler()
            if response.status_code >= 400:
                # The handler answered with an error itself: nothing it wrote may stay.
                transaction.set_rollback(True)
            else:
                _finish(message, response, InboundStatus.ACCEPTED)
    except Exception as exc:
        settle(exc)
        response = problem_exception_handler(exc, {"view": view, "request": request})
        if response is None:
            _finish(message, problem_response("server-error", "Unexpected error; nothing was "
                                              "written. The same Idempotency-Key may be retried."),
                    InboundStatus.FAILED, error=_storable_text(repr(exc)[:2000]))
            raise
    if response.status_code >= 400:
        _finish(message, response, InboundStatus.REJECTED)
    response[CORRELATION_HEADER] = correlation_id
    return response


def idempotent(max_bytes_setting: str | None = None):
    """Decorate a write handler (an action) so it runs through the inbox."""

    def decorate(handler):
        @wraps(handler)
        def wrapper(self, request, *args: Any, **kwargs: Any):
            limit = getattr(settings, max_bytes_setting) if max_bytes_setting else None
            return run_idempotent(self, request, lambda: handler(self, request, *args, **kwargs),
                                  max_bytes=limit)

        return wrapper

    return decorate


class IdempotentWritesMixin:
    """Model viewsets: create/update/partial_update run through the inbox."""

    @idempotent()
    def create(self, request, *args, **kwargs):
        return super().create(request, *args, **kwargs)

    @idempotent()
    def update(self, request, *args, **kwargs):
        return super().update(request, *args, **kwargs)
