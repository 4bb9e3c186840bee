"""Errors that services raise. One exception handler turns them into problem details.

Services know nothing of HTTP; they say what went wrong (a code, a pointer to the offending
input, a sentence) and whether it is invalid input or a conflict with the current state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction

from connectors.b2mml.errors import B2mmlError, B2mmlRejected


@dataclass(frozen=True)
class ErrorItem:
    pointer: str  # RFC 6901 JSON pointer into the request ("/lines/17/quantity"), "" = whole body
    code: str
    detail: str


@dataclass
class DomainError(Exception):
    """Base of every business-rule refusal. `kind` picks the problem type and HTTP status."""

    detail: str
    errors: list[ErrorItem] = field(default_factory=list)
    kind: str = "validation-error"

    def __post_init__(self) -> None:
        super().__init__(self.detail)

    def __str__(self) -> str:
        if not self.errors:
            return self.detail
        return self.detail + ": " + "; ".join(f"{e.pointer or '/'} {e.detail}" for e in self.errors)


class InvalidInput(DomainError):
    """The input breaks a rule (400, validation-error)."""

    def __init__(self, detail: str, errors: list[ErrorItem] | None = None) -> None:
        super().__init__(detail=detail, errors=errors or [], kind="validation-error")


class StateConflict(DomainError):
    """The input is well formed but the current state forbids it (409), e.g. editing a released
    revision or a transition that is not allowed from the current status."""

    def __init__(self, detail: str, errors: list[ErrorItem] | None = None, code: str = "conflict"):
        super().__init__(detail=detail, errors=errors or [], kind=code)


def invalid(pointer: str, code: str, detail: str) -> InvalidInput:
    """One-line helper for the common single-field refusal."""
    return InvalidInput(detail, [ErrorItem(pointer=pointer, code=code, detail=detail)])


def refuse(problems: list[ErrorItem]) -> None:
    """Raise every problem of an input at once (nothing was written), or return if none."""
    if problems:
        raise InvalidInput(f"Nothing was written: {problems[0].pointer} {problems[0].detail}"
                           + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
                           problems)


def settle(exc: BaseException) -> None:
    """Run what a failed operation asked to record once its transaction has rolled back (a note
    that must survive the rollback, set as `exc.after_rollback`) — as soon as no transaction
    is open any more, so the note is never rolled back with the work it describes. Callers that
    wrap services in a transaction of their own (the idempotent API) call this after theirs."""
    note: Callable[[], None] | None = getattr(exc, "after_rollback", None)
    if note is not None and not transaction.get_connection().in_atomic_block:
        exc.after_rollback = None
        note()


def b2mml_refusal(exc: B2mmlError, what: str) -> InvalidInput:
    """A B2MML document's problem as the refusal of the input: where it was refused (its
    element path), or every schema problem (the first 20)."""
    if isinstance(exc, B2mmlRejected):
        return invalid(exc.path or "", exc.code, exc.detail)
    problems = getattr(exc, "problems", [str(exc)])
    return InvalidInput(f"The {what} is not valid B2MML.",
                        [ErrorItem("", "schema_invalid", problem) for problem in problems[:20]])

