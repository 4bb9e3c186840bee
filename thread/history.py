"""Who and why on every tracked write.

simple-history reads `_history_user` and `_change_reason` from the instance being saved; the
services set both through `audited` so that history names the person or the system (its
service user) and the reason, also when a write runs in a background task without a request.
"""

from __future__ import annotations

from typing import TypeVar

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Model

from thread.errors import invalid

M = TypeVar("M", bound=Model)


def require_reason(reason: str | None) -> str:
    if reason is None or not reason.strip():
        raise invalid("/reason", "required", "A reason is required for this change.")
    return reason.strip()


def audited(instance: M, actor: AbstractBaseUser | None, reason: str) -> M:
    instance._change_reason = require_reason(reason)
    if actor is not None and actor.is_authenticated:
        instance._history_user = actor
    return instance


def acting_user(actor: AbstractBaseUser | None) -> AbstractBaseUser | None:
    """The user a row names as its author (`created_by`, bulk history): a signed-in person or a
    system's service user; None for anonymous callers and background code without one."""
    return actor if actor is not None and actor.is_authenticated else None
