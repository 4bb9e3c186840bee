"""The outbox's timing, checked before a task cluster (or the server) starts: a combination of
settings under which a drain task could outlive django-q2's timeout, or the same task run
twice at once, is refused with the reason (thread.flows.timing, docs/outbox.md)."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, register

from .timing import timing_errors


@register("thread")
def outbox_timing(app_configs, **kwargs) -> list[Error]:
    errors = timing_errors(
        q_timeout=settings.Q_CLUSTER["timeout"], q_retry=settings.Q_CLUSTER["retry"],
        drain_seconds=settings.THREAD_OUTBOX_DRAIN_SECONDS,
        lease_seconds=settings.THREAD_OUTBOX_LEASE_SECONDS,
        batch_size=settings.THREAD_OUTBOX_BATCH_SIZE)
    return [Error(msg, hint=hint, id=check_id) for check_id, msg, hint in errors]
