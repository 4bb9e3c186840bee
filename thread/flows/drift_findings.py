"""Drift findings (docs/monitoring.md, "Drift"): what a check found for one object, how each
finding lives on from check to check, and the operators' two answers to it — re-push Thread's
state, or acknowledge the peer's.

A finding is one field of one object (`object`, `field`, as the connector names them) of one
delivered message's object (`object_key`, its ordering key). Each check of an object compares
all of its live findings (open, acknowledged) with what the peer holds now:
- a difference with no live finding opens one;
- the same difference again only moves `last_seen_at` (a plain UPDATE: no history row per check);
- a live finding whose values changed is updated, and an acknowledged one reopens — the
  acknowledgement was for the values someone looked at;
- a live finding no longer found is closed as `gone` (someone fixed it at the peer).
Re-pushed and gone findings are final; the same difference found again later is a new finding.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from connectors.converging import Difference
from thread.errors import StateConflict
from thread.history import audited, require_reason

from . import outbox
from .choices import DRIFT_LIVE, OUTBOUND_ACTIVE, DriftStatus, OutboundStatus
from .models import DriftFinding, OutboundMessage

NO_VALUE = "—"


@dataclass
class Reconciled:
    opened: int = 0
    closed: int = 0
    still: int = 0
    changed: list[str] = field(default_factory=list)


def differences_folded(differences: Iterable[Difference]) -> dict[tuple[str, str], tuple[str, str]]:
    """One (Thread's value, the peer's value) per object and field: a connector may report a
    field several times (each missing or extra substitute of a BOM line); their values are
    joined, so the finding reads "substitute: S-1, S-2 ≠ S-9"."""
    ours: dict[tuple[str, str], set[str]] = {}
    theirs: dict[tuple[str, str], set[str]] = {}
    for difference in differences:
        where = (difference.object[:300], difference.field[:100])
        ours.setdefault(where, set())
        theirs.setdefault(where, set())
        if difference.thread:
            ours[where].add(difference.thread)
        if difference.peer:
            theirs[where].add(difference.peer)
    return {where: (", ".join(sorted(ours[where])), ", ".join(sorted(theirs[where])))
            for where in ours}


def drift_findings_reconcile(*, message: OutboundMessage, differences: Iterable[Difference],
                             run_label: str, now: datetime | None = None) -> Reconciled:
    """Bring the findings of `message`'s object in line with what the peer holds now (the
    differences a read-back found). In one transaction; the live findings are locked, so an
    operator's re-push or acknowledgement in the meantime is seen, not overwritten."""
    now = now or timezone.now()
    found = differences_folded(differences)
    result = Reconciled()
    with transaction.atomic():
        live = {(f.object, f.field): f for f in DriftFinding.objects.select_for_update().filter(
            system_id=message.system_id, topic=message.topic, object_key=message.ordering_key,
            status__in=DRIFT_LIVE)}
        unchanged: list[int] = []
        for (where, what), (thread_value, peer_value) in found.items():
            finding = live.pop((where, what), None)
            if finding is None:
                DriftFinding.objects.create(
                    system_id=message.system_id, topic=message.topic,
                    object_key=message.ordering_key, object=where, field=what,
                    thread_value=thread_value, peer_value=peer_value, message=message,
                    first_seen_at=now, last_seen_at=now)
                result.opened += 1
            elif (finding.thread_value, finding.peer_value) == (thread_value, peer_value):
                unchanged.append(finding.pk)
                result.still += 1
            else:
                _changed(finding, thread_value, peer_value, message, run_label, now)
                result.changed.append(str(finding))
        if unchanged:
            DriftFinding.objects.filter(pk__in=unchanged).update(last_seen_at=now,
                                                                 message=message)
        for finding in live.values():
            finding.status = DriftStatus.GONE
            finding.closed_at = now
            audited(finding, None, f"{run_label}: the peer holds Thread's value again").save()
            result.closed += 1
    return result


def _changed(finding: DriftFinding, thread_value: str, peer_value: str,
             message: OutboundMessage, run_label: str, now: datetime) -> None:
    what = []
    if finding.peer_value != peer_value:
        what.append(f"the peer's value {finding.peer_value or NO_VALUE} → {peer_value or NO_VALUE}")
    if finding.thread_value != thread_value:
        what.append(f"Thread's value {finding.thread_value or NO_VALUE} → "
                    f"{thread_value or NO_VALUE}")
    reopened = finding.status == DriftStatus.ACKNOWLEDGED
    finding.thread_value, finding.peer_value, finding.message = thread_value, peer_value, message
    finding.last_seen_at = now
    if reopened:
        finding.status, finding.closed_at = DriftStatus.OPEN, None
    reason = f"{run_label}: {' and '.join(what)}" + ("; reopened" if reopened else "")
    audited(finding, None, reason).save()


def _locked(finding: DriftFinding) -> DriftFinding:
    return DriftFinding.objects.select_for_update().select_related("system").get(pk=finding.pk)


def drift_finding_acknowledge(*, finding: DriftFinding, actor: AbstractBaseUser | None,
                              reason: str) -> DriftFinding:
    """The peer's value is accepted as it is (a deliberate local change): the finding stays
    closed while the peer keeps that value, and reopens when either side changes it."""
    reason = require_reason(reason)
    with transaction.atomic():
        finding = _locked(finding)
        if finding.status != DriftStatus.OPEN:
            raise StateConflict(f"Only an open finding can be acknowledged; this one is "
                                f"{finding.get_status_display().lower()}.")
        finding.status, finding.closed_at = DriftStatus.ACKNOWLEDGED, timezone.now()
        audited(finding, actor, reason).save()
    return finding


def drift_finding_re_push(*, finding: DriftFinding, actor: AbstractBaseUser | None,
                          reason: str) -> OutboundMessage:
    """Send Thread's state of the finding's object again: a new outbound message carrying the
    last delivered message's payload, caused by the finding. A delivery converges the whole
    object, so every live finding of it closes as re-pushed with the same message; the next
    check after its delivery opens a new finding if the peer still differs."""
    reason = require_reason(reason)
    with transaction.atomic():
        finding = _locked(finding)
        if finding.status not in DRIFT_LIVE:
            raise StateConflict(f"This finding is {finding.get_status_display().lower()} "
                                "already; there is nothing to re-push.")
        newest = (OutboundMessage.objects.filter(
            system_id=finding.system_id, ordering_key=finding.object_key, topic=finding.topic)
            .exclude(status__in=(OutboundStatus.SUPERSEDED, OutboundStatus.CANCELLED))
            .order_by("-id").first())
        if newest is None or newest.status != OutboundStatus.DELIVERED:
            raise StateConflict(_not_re_pushable(newest))
        message = outbox.outbound_message_resend(message=newest, cause=finding)
        now = timezone.now()
        for each in DriftFinding.objects.select_for_update().filter(
                system_id=finding.system_id, topic=finding.topic, object_key=finding.object_key,
                status__in=DRIFT_LIVE):
            each.status, each.closed_at, each.re_push = DriftStatus.RE_PUSHED, now, message
            audited(each, actor, reason).save()
    return message


def _not_re_pushable(newest: OutboundMessage | None) -> str:
    if newest is None:
        return "Nothing delivered to this system for the object is left to send again."
    if newest.status in OUTBOUND_ACTIVE:
        return (f"Message #{newest.pk} for this object is on its way ({newest.status}); its "
                "delivery brings the peer to Thread's state.")
    return (f"The newest message for this object, #{newest.pk}, is {newest.status}: replay or "
            "cancel it on the flow monitor first.")
