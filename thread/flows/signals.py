"""The flows' health signals, as pure functions over plain data: what a system's newest delivery
attempts say about its peer (failing, unreachable, recovered), and which alerts a system's
figures raise. The selectors read the figures with bounded queries; the rules live here, so the
flow monitor, the flow status, the admin banner and the alert e-mail all judge alike
(docs/monitoring.md, "Signals and alerts")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from .choices import AlertKind, PeerVerdict

# Failures that mean nothing answered: a refused or dropped connection, or no answer in time.
UNREACHABLE_ERRORS = frozenset({"connection", "timeout"})


@dataclass(frozen=True)
class AttemptFact:
    """One delivery attempt, as the signals need it."""

    started_at: datetime
    verdict: str  # PeerVerdict
    error_class: str
    error: str
    response_status: int | None


@dataclass(frozen=True)
class PeerError:
    """The newest failed attempt: what the peer (or the way to it) answered, and when."""

    at: datetime
    error_class: str
    error: str
    response_status: int | None

    def __str__(self) -> str:
        status = f" ({self.response_status})" if self.response_status else ""
        return f"{self.error_class}{status}: {self.error}" if self.error else f"{self.error_class}{status}"


@dataclass(frozen=True)
class PeerHealth:
    # Attempts of the failure window that tell about the peer (delivered or failed; refusals
    # of one message do not count), and the failed ones among them.
    window_attempts: int
    window_failed: int
    # Failed attempts since the peer's last delivered one, among the newest `recent_limit`
    # attempts; capped: all of those failed, so there were at least that many.
    consecutive_failures: int
    consecutive_capped: bool
    failing_since: datetime | None  # the first failure of that run (or an earlier one, if capped)
    unreachable: bool
    recovered: bool  # the newest attempts were delivered: a failure rate still high ends early
    last_error: PeerError | None

    @property
    def failure_rate(self) -> float | None:
        return self.window_failed / self.window_attempts if self.window_attempts else None


@dataclass(frozen=True)
class AlertThresholds:
    pending_age: timedelta
    failure_window: timedelta
    failure_rate: float  # 0..1
    failure_min_attempts: int
    consecutive_failures: int
    unreachable_attempts: int
    recovered_after: int
    stuck_grace: timedelta

    @classmethod
    def from_settings(cls) -> AlertThresholds:
        return cls(
            pending_age=timedelta(minutes=settings.THREAD_ALERT_PENDING_AGE_MINUTES),
            failure_window=timedelta(minutes=settings.THREAD_ALERT_FAILURE_WINDOW_MINUTES),
            failure_rate=settings.THREAD_ALERT_FAILURE_RATE_PERCENT / 100,
            failure_min_attempts=settings.THREAD_ALERT_FAILURE_MIN_ATTEMPTS,
            consecutive_failures=settings.THREAD_ALERT_CONSECUTIVE_FAILURES,
            unreachable_attempts=settings.THREAD_ALERT_UNREACHABLE_ATTEMPTS,
            recovered_after=settings.THREAD_ALERT_RECOVERED_AFTER,
            stuck_grace=timedelta(minutes=settings.THREAD_ALERT_STUCK_MINUTES))


def peer_health(*, recent: Sequence[AttemptFact], recent_limit: int, window_attempts: int,
                window_failed: int, limits: AlertThresholds) -> PeerHealth:
    """The peer's health from its newest attempts (`recent`, newest first, at most
    `recent_limit` of them) and the failure window's counts. Refused attempts are skipped:
    a peer that refuses one message with a 400 is up."""
    told = [a for a in recent if a.verdict != PeerVerdict.REFUSED]
    run = 0
    while run < len(told) and told[run].verdict == PeerVerdict.FAILED:
        run += 1
    newest = told[:limits.unreachable_attempts]
    last_failed = next((a for a in recent if a.verdict != PeerVerdict.DELIVERED), None)
    return PeerHealth(
        window_attempts=window_attempts, window_failed=window_failed,
        consecutive_failures=run,
        consecutive_capped=0 < run == len(told) and len(recent) >= recent_limit,
        failing_since=told[run - 1].started_at if run else None,
        unreachable=(len(newest) == limits.unreachable_attempts
                     and all(a.verdict == PeerVerdict.FAILED and a.error_class in UNREACHABLE_ERRORS
                             for a in newest)),
        recovered=(len(told) >= limits.recovered_after
                   and all(a.verdict == PeerVerdict.DELIVERED
                           for a in told[:limits.recovered_after])),
        last_error=None if last_failed is None else PeerError(
            last_failed.started_at, last_failed.error_class, last_failed.error,
            last_failed.response_status))


def alert_kinds(*, dead: int, oldest_waiting_age: timedelta | None, delivering: bool,
                stuck_sending: int, peer: PeerHealth, limits: AlertThresholds) -> list[str]:
    """When a system's flows need an operator. Dead messages, and an undelivered message older
    than the pending age, always. While Thread is delivering to the system (delivery on and
    messages waiting; a paused system or one with nothing to send has no failing delivery):
    the peer failing (a failure rate at or above the threshold over enough attempts in the
    window, unless the newest attempts were delivered — or too many failures in a row), the
    peer unreachable (its newest attempts all refused or dropped the connection or timed out),
    and messages stuck in sending (a lease that ran out and no drain took it back)."""
    kinds = []
    if dead:
        kinds.append(AlertKind.DEAD)
    if oldest_waiting_age is not None and oldest_waiting_age > limits.pending_age:
        kinds.append(AlertKind.STALE)
    if not delivering:
        return kinds
    rate = peer.failure_rate
    high_rate = (rate is not None and peer.window_attempts >= limits.failure_min_attempts
                 and rate >= limits.failure_rate and not peer.recovered)
    if high_rate or peer.consecutive_failures >= limits.consecutive_failures:
        kinds.append(AlertKind.FAILING)
    if peer.unreachable:
        kinds.append(AlertKind.UNREACHABLE)
    if stuck_sending:
        kinds.append(AlertKind.STUCK)
    return kinds
