"""RFC 9457 problem details: the one error shape of the API.

Every error body is `application/problem+json` with `type`, `title`, `status`, `detail` and,
where input was at fault, `errors: [{"pointer", "code", "detail"}]` with JSON pointers into
the request body.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from thread.errors import DomainError, ErrorItem

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE = "/problems/"

# slug -> (title, status); the /problems/ page documents each.
PROBLEM_TYPES: dict[str, tuple[str, int]] = {
    "validation-error": ("The request is not valid", 400),
    "malformed-body": ("The request body could not be parsed", 400),
    "idempotency-key-missing": ("Idempotency-Key header is required", 400),
    "not-authenticated": ("Authentication is required", 401),
    "forbidden": ("You may not do this", 403),
    "not-found": ("Not found", 404),
    "method-not-allowed": ("Method not allowed", 405),
    "not-acceptable": ("Not acceptable", 406),
    "conflict": ("The current state does not allow this", 409),
    "released-revision-immutable": ("A released revision never changes", 409),
    "released-routing-immutable": ("A released routing version never changes", 409),
    "transition-not-allowed": ("The object's status does not allow this move", 409),
    "work-order-closed": ("The work order is completed or cancelled: it takes no more results",
                          409),
    "idempotency-key-in-use": ("A request with this Idempotency-Key is still running", 409),
    "payload-too-large": ("The request body is too large", 413),
    "unsupported-media-type": ("Unsupported media type", 415),
    "idempotency-key-reused": ("Idempotency-Key was used with another request", 422),
    "throttled": ("Too many requests", 429),
    "server-error": ("Internal error", 500),
}


def problem_type(slug: str) -> str:
    return PROBLEM_BASE + slug


def problem_body(
    slug: str, detail: str, errors: list[ErrorItem] | None = None, status_code: int | None = None
) -> dict[str, Any]:
    title, default_status = PROBLEM_TYPES.get(slug, PROBLEM_TYPES["validation-error"])
    body: dict[str, Any] = {
        "type": problem_type(slug),
        "title": title,
        "status": status_code or default_status,
        "detail": detail,
    }
    if errors:
        body["errors"] = [{"pointer": e.pointer, "code": e.code, "detail": e.detail} for e in errors]
    return body


def problem_response(
    slug: str,
    detail: str,
    errors: list[ErrorItem] | None = None,
    status_code: int | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = problem_body(slug, detail, errors, status_code)
    response = Response(body, status=body["status"], headers=headers)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def _pointer_escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def flatten_validation_detail(detail: Any, path: str = "") -> list[ErrorItem]:
    """DRF's nested error structure → one ErrorItem per leaf with a JSON pointer."""
    items: list[ErrorItem] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key in ("non_field_errors", "__all__"):
                items.extend(flatten_validation_detail(value, path))
            else:
                items.extend(flatten_validation_detail(value, f"{path}/{_pointer_escape(str(key))}"))
    elif isinstance(detail, list):
        if all(not isinstance(v, dict | list) for v in detail):
            for value in detail:
                code = getattr(value, "code", None) or "invalid"
                items.append(ErrorItem(pointer=path, code=str(code), detail=str(value)))
        else:
            for index, value in enumerate(detail):
                if value:  # DRF puts {} for list members that were fine
                    items.extend(flatten_validation_detail(value, f"{path}/{index}"))
    else:
        code = getattr(detail, "code", None) or "invalid"
        items.append(ErrorItem(pointer=path, code=str(code), detail=str(detail)))
    return items


def _django_validation_items(exc: DjangoValidationError) -> list[ErrorItem]:
    if hasattr(exc, "error_dict"):
        return [
            ErrorItem(
                pointer="" if field in ("__all__", None) else f"/{field}",
                code=error.code or "invalid",
                detail=" ".join(error.messages),
            )
            for field, errors in exc.error_dict.items()
            for error in errors
        ]
    return [ErrorItem(pointer="", code=e.code or "invalid", detail=" ".join(e.messages))
            for e in exc.error_list]


def _summary(items: list[ErrorItem]) -> str:
    first = items[0]
    more = f" (and {len(items) - 1} more)" if len(items) > 1 else ""
    where = first.pointer or "the request"
    return f"{where}: {first.detail}{more}"


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        status_code = PROBLEM_TYPES.get(exc.kind, ("", 400))[1]
        return problem_response(exc.kind, exc.detail, exc.errors, status_code)
    if isinstance(exc, RequestDataTooBig):
        return problem_response(
            "payload-too-large", "The request body exceeds this endpoint's size limit."
        )
    if isinstance(exc, DjangoValidationError):
        items = _django_validation_items(exc)
        return problem_response("validation-error", _summary(items), items)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: Django's 500 handling and logging take it

    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))

    if isinstance(exc, exceptions.ParseError):
        items = [ErrorItem(pointer="", code="parse_error", detail=str(exc.detail))]
        return problem_response("malformed-body", str(exc.detail), items, headers=headers)
    if isinstance(exc, exceptions.ValidationError):
        items = flatten_validation_detail(exc.detail)
        return problem_response("validation-error", _summary(items), items, headers=headers)
    slug = {
        status.HTTP_401_UNAUTHORIZED: "not-authenticated",
        status.HTTP_403_FORBIDDEN: "forbidden",
        status.HTTP_404_NOT_FOUND: "not-found",
        status.HTTP_405_METHOD_NOT_ALLOWED: "method-not-allowed",
        status.HTTP_406_NOT_ACCEPTABLE: "not-acceptable",
        status.HTTP_413_REQUEST_ENTITY_TOO_LARGE: "payload-too-large",
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported-media-type",
        status.HTTP_429_TOO_MANY_REQUESTS: "throttled",
    }.get(exc.status_code, "server-error" if exc.status_code >= 500 else "validation-error")
    return problem_response(slug, str(exc.detail), status_code=exc.status_code, headers=headers)
