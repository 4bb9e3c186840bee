"""The outbox's timing rules in one place: how long one send may take, and which combinations
of settings could let a drain task outlive django-q2's timeout (docs/outbox.md, Timing). Read
by the drainer, the system checks (thread.flows.checks) and ExternalSystem.clean."""

from __future__ import annotations

from django.conf import settings

# Leave this much of a lease unused, so the outcome is recorded before the lease runs out.
LEASE_MARGIN_SECONDS = 1.0
# What a drain does after its budget is spent: record the last outcome, read when the next
# drain is due, move the schedule. Seconds, generous.
DRAIN_WRAP_UP_SECONDS = 5


def send_window_seconds() -> float:
    """The longest one send may take: it must fit in one drain's budget and in one lease."""
    return min(float(settings.THREAD_OUTBOX_DRAIN_SECONDS),
               settings.THREAD_OUTBOX_LEASE_SECONDS - LEASE_MARGIN_SECONDS)


def timing_errors(*, q_timeout: int, q_retry: int, drain_seconds: float, lease_seconds: float,
                  batch_size: int) -> list[tuple[str, str, str]]:
    """(id, what is wrong, how to fix it) for each broken rule; pure, so every rule is
    testable without touching settings."""
    errors = []
    if drain_seconds + DRAIN_WRAP_UP_SECONDS > q_timeout:
        errors.append((
            "flows.E001",
            f"THREAD_OUTBOX_DRAIN_SECONDS ({drain_seconds}) + {DRAIN_WRAP_UP_SECONDS} s of "
            f"wrap-up exceeds Q_TIMEOUT ({q_timeout}): a drain task could be killed while "
            "it sends, leaving its requests without an outcome.",
            f"Lower THREAD_OUTBOX_DRAIN_SECONDS to at most {q_timeout - DRAIN_WRAP_UP_SECONDS} "
            "or raise Q_TIMEOUT."))
    if q_retry <= q_timeout:
        errors.append((
            "flows.E002",
            f"Q_RETRY ({q_retry}) is not longer than Q_TIMEOUT ({q_timeout}): the ORM broker "
            "hands a task that is still running to a second worker.",
            "Set Q_RETRY above Q_TIMEOUT (the defaults are 300 and 120)."))
    if lease_seconds - LEASE_MARGIN_SECONDS < 1:
        errors.append((
            "flows.E003",
            f"THREAD_OUTBOX_LEASE_SECONDS ({lease_seconds}) leaves less than 1 s to send once "
            f"the {LEASE_MARGIN_SECONDS} s margin for recording the outcome is taken off.",
            "Set THREAD_OUTBOX_LEASE_SECONDS to at least 2 (default 60)."))
    if drain_seconds < 1:
        errors.append(("flows.E004", f"THREAD_OUTBOX_DRAIN_SECONDS ({drain_seconds}) is below "
                       "1 s: no send fits in a drain.", "Set it to at least 1 (default 50)."))
    if batch_size < 1:
        errors.append(("flows.E005", f"THREAD_OUTBOX_BATCH_SIZE ({batch_size}) is below 1.",
                       "Set it to at least 1 (default 50)."))
    return errors


def system_timeouts_error(*, connect_timeout: float, read_timeout: float) -> str:
    """Why a system's timeouts cannot work with this outbox, or "" when they can: one send
    must fit in the send window (one drain's budget, one lease)."""
    window = send_window_seconds()
    if connect_timeout + read_timeout > window:
        return (f"connect + read timeout ({connect_timeout + read_timeout:g} s) must fit in one "
                f"send window of {window:g} s (THREAD_OUTBOX_DRAIN_SECONDS and "
                "THREAD_OUTBOX_LEASE_SECONDS); a longer send would be cut off there anyway")
    return ""
