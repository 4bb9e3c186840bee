"""Alerts on the flows: the admin banner and the e-mail hook.

A system is in alert when it has dead messages or its oldest undelivered message has waited
longer than THREAD_ALERT_PENDING_AGE_MINUTES (`selectors.alert_kinds`). The banner reads the
alerts on every admin page (one query); the scheduled task `notify_flow_alerts` mails each alert
once to THREAD_ALERT_EMAILS when it appears, and again only after it cleared and came back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, Min, Q
from django.utils import timezone
from django.utils.timesince import timesince

from .choices import OUTBOUND_ACTIVE, AlertKind, OutboundStatus
from .models import FlowAlertNotice, OutboundMessage
from .selectors import alert_kinds, due_now

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FlowAlert:
    system_id: int
    system_name: str
    kind: str
    text: str


def current_flow_alerts(*, now: datetime | None = None) -> list[FlowAlert]:
    """The alerts in force, by system name. One query over dead and undelivered messages only
    (the partial indexes on waiting and on status keep it small)."""
    now = now or timezone.now()
    rows = (OutboundMessage.objects.filter(status__in=(OutboundStatus.DEAD, *OUTBOUND_ACTIVE))
            .order_by("system__name").values("system_id", "system__name")
            .annotate(dead=Count("id", filter=Q(status=OutboundStatus.DEAD)),
                      oldest=Min("enqueued_at",
                                 filter=Q(status__in=OUTBOUND_ACTIVE) & due_now(now))))
    alerts = []
    for row in rows:
        age = now - row["oldest"] if row["oldest"] else None
        for kind in alert_kinds(dead=row["dead"], oldest_waiting_age=age):
            if kind == AlertKind.DEAD:
                text = (f"{row['system__name']}: {row['dead']} dead message"
                        f"{'s' if row['dead'] != 1 else ''} need{'s' if row['dead'] == 1 else ''} action")
            else:
                text = (f"{row['system__name']}: the oldest undelivered message has waited "
                        f"{timesince(row['oldest'], now)} (alert after "
                        f"{settings.THREAD_ALERT_PENDING_AGE_MINUTES} min)")
            alerts.append(FlowAlert(row["system_id"], row["system__name"], kind, text))
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
                                               detail=alert.text, raised_at=now)
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
