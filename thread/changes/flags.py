"""Writes of impact flags: a change order's release (or anyone, on demand) raises a flag on every
open order the change hits; someone acknowledges it, then resolves it, each with a note. The
flags live with the change orders that raise them and point at the orders app's mirrors."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from thread.errors import ErrorItem, StateConflict, invalid
from thread.history import audited, require_reason

from .choices import ImpactFlagStatus
from .impact import Impact
from .models import ChangeOrder, ImpactFlag


def impact_flags_raise(*, change_order: ChangeOrder, impact: Impact,
                       actor: AbstractBaseUser | None, reason: str) -> list[ImpactFlag]:
    """A flag on every open order `impact` hits, one per change order and order: an order
    flagged already keeps its flag (and its status), so raising again (at approval, again at
    release) adds only the orders hit since. Returns the flags of every order hit."""
    reason = require_reason(reason)
    if impact.change_order_id != change_order.pk:
        raise invalid("/impact", "other_change_order",
                      f"The impact given is {impact.number}'s, not {change_order.number}'s.")
    with transaction.atomic():
        # Raisers of one change order take turns, so the unique constraints never fire.
        ChangeOrder.objects.select_for_update().filter(pk=change_order.pk).exists()
        existing = list(ImpactFlag.objects.filter(change_order=change_order))
        flagged = {("po", f.purchase_order_id) for f in existing if f.purchase_order_id} | {
            ("mo", f.production_order_id) for f in existing if f.production_order_id}
        now, user = timezone.now(), _user(actor)
        new = [ImpactFlag(change_order=change_order, purchase_order_id=hit.order_id,
                          kind=hit.kind, part_id=hit.part_id, summary=hit.summary,
                          details=hit.details, raised_at=now, raised_by=user)
               for hit in impact.purchase_order_hits() if ("po", hit.order_id) not in flagged]
        new += [ImpactFlag(change_order=change_order, production_order_id=hit.order_id,
                           kind=hit.kind, part_id=hit.part_id, summary=hit.summary,
                           details=hit.details, raised_at=now, raised_by=user)
                for hit in impact.production_order_hits() if ("mo", hit.order_id) not in flagged]
        if new:
            bulk_create_with_history(new, ImpactFlag, default_user=user,
                                     default_change_reason=reason)
        hit = {("po", h.order_id) for h in impact.purchase_order_hits()} | {
            ("mo", h.order_id) for h in impact.production_order_hits()}
        kept = [f for f in existing if ("po", f.purchase_order_id) in hit
                or ("mo", f.production_order_id) in hit]
    return sorted(kept + new, key=lambda f: f.pk)


def impact_flag_acknowledge(*, flag: ImpactFlag, actor: AbstractBaseUser | None,
                            note: str) -> ImpactFlag:
    """open → acknowledged: someone owns it now; the note says what they will do."""
    return _flag_move(flag, ImpactFlagStatus.ACKNOWLEDGED, ImpactFlagStatus.OPEN, actor, note,
                      "acknowledged")


def impact_flag_resolve(*, flag: ImpactFlag, actor: AbstractBaseUser | None,
                        note: str) -> ImpactFlag:
    """acknowledged → resolved: the order was dealt with; the note says how."""
    return _flag_move(flag, ImpactFlagStatus.RESOLVED, ImpactFlagStatus.ACKNOWLEDGED, actor,
                      note, "resolved")


def _flag_move(flag: ImpactFlag, to: str, required: str, actor, note: str,
               what: str) -> ImpactFlag:
    note = require_reason(note)
    with transaction.atomic():
        flag = ImpactFlag.objects.select_for_update().get(pk=flag.pk)
        if flag.status != required:
            detail = (f"Impact flag #{flag.pk} is {flag.get_status_display().lower()}; only an "
                      f"{ImpactFlagStatus(required).label.lower()} flag can be {what}.")
            raise StateConflict(detail, [ErrorItem("/status", "invalid_transition", detail)])
        flag.status = to
        setattr(flag, f"{what}_at", timezone.now())
        setattr(flag, f"{what}_by", _user(actor))
        if to == ImpactFlagStatus.ACKNOWLEDGED:
            flag.acknowledge_note = note
        else:
            flag.resolution_note = note
        audited(flag, actor, note).save()
    return flag


def _user(actor: AbstractBaseUser | None):
    return actor if actor is not None and actor.is_authenticated else None
