"""The flow monitor's one way of learning about domain records that need a person: a domain
app raises an attention item for its record (a held work order, later a failed shift batch or
PLM import run) and resolves it when the cause is gone. The monitor, the flow status and the
admin list read them here, so every later issue reuses this instead of teaching flows about its
models (flows imports no domain app)."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Count, Model, QuerySet
from django.utils import timezone

from thread.history import audited

from .choices import AttentionState
from .models import AttentionItem, ExternalSystem

SERVICE_REASON = "Raised by Thread"


def _find(kind: str, about: Model) -> AttentionItem | None:
    return (AttentionItem.objects.select_for_update()
            .filter(kind=kind, about_type=ContentType.objects.get_for_model(about),
                    about_id=str(about.pk)).first())


def attention_raise(*, kind: str, about: Model, reference: str, reason: str, admin_url: str = "",
                    system: ExternalSystem | None = None, actor=None) -> AttentionItem:
    """Open (or re-open, or update the reason of) the attention item of `about` for `kind`, in
    the caller's transaction. Writes nothing when the open item already says the same."""
    now = timezone.now()
    with transaction.atomic():
        item = _find(kind, about)
        if item is None:
            item = AttentionItem(kind=kind, about=about, opened_at=now)
        elif (item.state == AttentionState.OPEN and item.reason == reason
              and item.reference == reference and item.system_id == (system.pk if system else None)):
            return item
        elif item.state != AttentionState.OPEN:
            item.opened_at, item.resolved_at, item.resolution = now, None, ""
        item.system, item.reference, item.reason = system, reference[:200], reason
        item.admin_url, item.state, item.updated_at = admin_url[:300], AttentionState.OPEN, now
        audited(item, actor, reason or SERVICE_REASON).save()
    return item


def attention_resolve(*, kind: str, about: Model, resolution: str, actor=None) -> AttentionItem | None:
    """Resolve the open attention item of `about` for `kind`, if there is one."""
    with transaction.atomic():
        item = _find(kind, about)
        if item is None or item.state != AttentionState.OPEN:
            return item
        now = timezone.now()
        item.state, item.resolved_at, item.updated_at = AttentionState.RESOLVED, now, now
        item.resolution = resolution
        audited(item, actor, resolution).save()
    return item


def open_attention_items(*, limit: int | None = None) -> QuerySet[AttentionItem]:
    """The open items, newest first, with their system (one query)."""
    items = AttentionItem.objects.filter(state=AttentionState.OPEN).select_related("system")
    return items[:limit] if limit else items


def open_attention_counts(*, system: ExternalSystem | None = None) -> dict[str, int]:
    """Open items by kind (one query), of one system's records where given."""
    items = AttentionItem.objects.filter(state=AttentionState.OPEN)
    if system is not None:
        items = items.filter(system=system)
    return dict(items.values_list("kind").annotate(n=Count("id")).order_by("kind"))
