"""Alerts on the flows: the admin banner and the e-mail hook.

A system is in alert when it has dead messages, an undelivered message older than
THREAD_ALERT_PENDING_AGE_MINUTES, a failing or unreachable peer, or messages stuck in sending
(`signals.alert_kinds`, docs/monitoring.md). The banner reads the alerts on every admin page (two
queries); the scheduled task `notify_flow_alerts` mails each alert once to THREAD_ALERT_EMAILS
when it appears, with the signal, since when, and the peer's last error, and again only after it
cleared and came back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.timesince import timesince

from .choices import AlertKind
from .models import FlowAlertNotice
from .selectors import COUNT_CAP, SystemFlowSignals, system_flow_signals

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FlowAlert:
    system_id: int
    system_name: str
    kind: str
    text: str  # the banner's line
    detail: str  # the e-mail's: the text, and the peer's last error


def _at(moment: datetime) -> str:
    return date_format(timezone.localtime(moment), "Y-m-d H:i:s T")


def _plural(count: int, word: str) -> str:
    shown = f"{COUNT_CAP:,}+" if count > COUNT_CAP else f"{count:,}"
    return f"{shown} {word}{'' if count == 1 else 's'}"


def _alert_text(kind: str, signals: SystemFlowSignals, now: datetime) -> str:
    """One alert in words: which signal, how bad, since when."""
    peer, name = signals.peer, signals.system.name
    if kind == AlertKind.DEAD:
        verb = "needs" if signals.dead == 1 else "need"
        return f"{name}: {_plural(signals.dead, 'dead message')} {verb} action"
    if kind == AlertKind.STALE:
        return (f"{name}: the oldest undelivered message has waited "
                f"{timesince(signals.oldest_waiting_since, now)} (alert after "
                f"{settings.THREAD_ALERT_PENDING_AGE_MINUTES} min)")
    since = ""
    if peer.failing_since:
        since = f" since {'before ' if peer.consecutive_capped else ''}{_at(peer.failing_since)}"
    if kind == AlertKind.FAILING:
        parts = []
        if peer.failure_rate is not None:
            parts.append(f"{peer.failure_rate:.0%} of the last {_plural(peer.window_attempts, 'attempt')} "
                         f"in {settings.THREAD_ALERT_FAILURE_WINDOW_MINUTES} min failed")
        if peer.consecutive_failures:
            count = f"{peer.consecutive_failures}{'+' if peer.consecutive_capped else ''}"
            parts.append(f"{count} failure{'s' if count != '1' else ''} in a row{since}")
        return f"{name}: deliveries failing: {'; '.join(parts)}"
    if kind == AlertKind.UNREACHABLE:
        return (f"{name}: peer unreachable: its last {settings.THREAD_ALERT_UNREACHABLE_ATTEMPTS} "
                f"attempts found no connection or timed out (failing{since})")
    return (f"{name}: {_plural(signals.stuck_sending, 'message')} stuck in sending: a lease ran out "
            f"at {_at(signals.stuck_since)} and no drain took it back (is a task cluster running?)")


def current_flow_alerts(*, now: datetime | None = None) -> list[FlowAlert]:
    """The alerts in force, by system name. Two queries, whatever the number of messages."""
    now = now or timezone.now()
    alerts = []
    for signals in system_flow_signals(now=now):
        error = signals.peer.last_error
        last_error = f"\n  the peer's last error, {_at(error.at)}: {error}" if error else ""
        for kind in signals.alerts:
            text = _alert_text(kind, signals, now)
            alerts.append(FlowAlert(signals.system.pk, signals.system.name, kind, text,
                                    text + last_error))
    return alerts


def flow_alerts_notify(*, now: datetime | None = None) -> int:
    """Mail the alerts that appeared since the last run to THREAD_ALERT_EMAILS; returns how many
    were mailed. Alerts that cleared are closed, so they are mailed again if they come back. A
    failed send leaves its notices unmailed and the next run tries again."""
    recipients = settings.THREAD_ALERT_EMAILS
    if not recipients:
        return 0
    now = now or timezone.now()
    alerts = {(a.system_id, a.kind): a for a in current_flow_alerts(now=now)}
    with transaction.atomic():
        open_notices = {(n.system_id, n.kind): n for n in
                        FlowAlertNotice.objects.select_for_update().filter(cleared_at__isnull=True)}
        gone = [n.pk for key, n in open_notices.items() if key not in alerts]
        FlowAlertNotice.objects.filter(pk__in=gone).update(cleared_at=now)
    for key, alert in alerts.items():
        if key in open_notices:
            continue
        try:
            with transaction.atomic():
                FlowAlertNotice.objects.create(system_id=alert.system_id, kind=alert.kind,
                                               detail=alert.detail, raised_at=now)
        except IntegrityError:
            continue  # another run raised it at the same moment; that run mails it
    unsent = list(FlowAlertNotice.objects.filter(cleared_at__isnull=True, emailed_at__isnull=True)
                  .select_related("system").order_by("system__name", "kind"))
    if not unsent:
        return 0
    lines = [notice.detail for notice in unsent]
    send_mail(
        subject=f"[Thread] {len(unsent)} flow alert{'s' if len(unsent) != 1 else ''}: "
                + ", ".join(sorted({n.system.name for n in unsent})),
        message="New alerts on Thread's flows:\n\n" + "\n".join(f"- {line}" for line in lines)
                + "\n\nSee the flow monitor (/admin/flows/monitor/) for the messages and actions.",
        from_email=None, recipient_list=recipients)
    FlowAlertNotice.objects.filter(pk__in=[n.pk for n in unsent]).update(emailed_at=timezone.now())
    logger.info("flow alerts mailed to %d recipient(s): %s", len(recipients), "; ".join(lines))
    return len(unsent)
