"""Writes of eBOMs: one push of a structure: validate everything (`ingest`, then `planning`),
then write parts, revisions, snapshots and lines in bulk, and release if asked, all in one
transaction: all or nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from thread.bom.bulk import insert_rows
from thread.bom.ebom import selectors
from thread.bom.ebom.ingest import ParsedPush, parse_push
from thread.bom.ebom.planning import PushPlan, plan_push
from thread.bom.models import (
    EBom,
    EBomLine,
    ReleaseGeneration,
)
from thread.catalog import services as catalog
from thread.catalog.models import Part, PartRevision, UnitOfMeasure
from thread.catalog.selectors import unit_catalog
from thread.catalog.units import UnitCatalog
from thread.flows.models import ExternalSystem, InboundMessage
from thread.history import require_reason

LINE_BATCH_SIZE = 2000
EBOM_LINE_COLUMNS = ("ebom_id", "find_number", "part_id", "quantity", "unit_id",
                     "reference_designators", "item_type", "attributes")


@dataclass(frozen=True)
class EBomPushResult:
    top: PartRevision
    created_parts: list[Part]
    created_revisions: list[PartRevision]
    snapshots: list[EBom]  # the new ones
    unchanged: list[EBom]  # current snapshots the push repeated exactly
    released: list[PartRevision]
    # What the release did to each product's mBOM at each plant (empty without a release).
    mboms: list[ReleaseGeneration] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created_parts or self.created_revisions or self.snapshots
                    or self.released)


def ebom_validate(*, payload: Any, system: ExternalSystem | None = None) -> PushPlan:
    """Everything a push would check, and what it would write, without writing (the admin
    import's preview)."""
    units = unit_catalog(system=system)
    return plan_push(_parse(payload, units), units=units.units, lock=False)


def ebom_push(
    *, payload: Any, actor: AbstractBaseUser | None, reason: str,
    inbound_message: InboundMessage | None = None, system: ExternalSystem | None = None,
) -> EBomPushResult:
    """Push a whole structure (the body of POST /api/v1/bom/eboms/, already parsed from JSON).

    Each changed draft revision gets a new immutable snapshot; a push identical to the current
    snapshot makes none; a released revision's eBOM never changes. With `release`, the top
    revision and every draft revision the push names are released. Units are read as
    written, with `system`'s own unit codes first (the system pushing), and stored as
    Thread's units."""
    reason = require_reason(reason)
    user = actor if actor is not None and actor.is_authenticated else None
    with transaction.atomic():
        units = unit_catalog(system=system)
        plan = plan_push(_parse(payload, units), units=units.units, lock=True)
        unit_ids = dict(UnitOfMeasure.objects.values_list("code", "id"))
        created_parts = _create_parts(plan, unit_ids, user, reason)
        created_revisions = _create_revisions(plan, user, reason)
        snapshots = _write_snapshots(plan, unit_ids, user, reason, inbound_message)
        released = []
        if plan.to_release:
            released = catalog.revisions_release(
                revisions=[t.revision for t in plan.to_release], actor=actor, reason=reason)
    # The response shows each revision as it now is: released, not the draft the plan read.
    now = {r.pk: r for r in released}
    return EBomPushResult(
        top=now.get(plan.top.revision.pk, plan.top.revision), created_parts=created_parts,
        created_revisions=[now.get(r.pk, r) for r in created_revisions],
        mboms=selectors.release_generations(revision_ids=now) if now else [],
        snapshots=snapshots, unchanged=[t.current for t in plan.unchanged if t.current],
        released=released)


def _parse(payload: Any, units: UnitCatalog) -> ParsedPush:
    return parse_push(payload, units=units, max_lines=settings.THREAD_MAX_EBOM_LINES)


def _create_parts(plan: PushPlan, unit_ids: Mapping[str, int], user, reason: str) -> list[Part]:
    if not plan.new_parts:
        return []
    parts = [Part(number=p.number, name=p.name, base_unit_id=unit_ids[p.base_unit],
                  make_or_buy=p.make_or_buy) for p in plan.new_parts]
    if connection.vendor == "postgresql":
        created = Part.objects.bulk_create(parts, batch_size=LINE_BATCH_SIZE)
        _created_history(Part, created, user, reason)
    else:
        created = bulk_create_with_history(parts, Part, batch_size=LINE_BATCH_SIZE,
                                           default_user=user, default_change_reason=reason)
    plan.parts.update({p.number: p for p in created})
    return created


def _created_history(model: type[Model], created: list[Model], user, reason: str) -> None:
    """The "+" history rows of rows just created, copied from them inside the database: what
    `bulk_create_with_history` writes (tracked fields, user, reason, one time for all), without
    building a second model instance per row in Python, which at 25,000 new parts of a push
    cost as much as creating the parts themselves."""
    if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True) or not created:
        return
    history = model.history.model
    # As simple-history does: without a user given, the request's (HistoryRequestMiddleware).
    user = user or history.get_default_history_user(created[0])
    tracked = [field.column for field in history.tracked_fields]
    columns = ", ".join(tracked)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {history._meta.db_table} ({columns}, history_date, "
            f"history_change_reason, history_type, history_user_id) "
            f"SELECT {columns}, %s, %s, '+', %s FROM {model._meta.db_table} WHERE id = ANY(%s)",
            [timezone.now(), reason, user.pk if user is not None else None,
             [row.pk for row in created]])


def _create_revisions(plan: PushPlan, user, reason: str) -> list[PartRevision]:
    targets = plan.new_revisions
    if not targets:
        return []
    created = bulk_create_with_history(
        [PartRevision(part=plan.parts[t.part_number], label=t.label) for t in targets],
        PartRevision, batch_size=LINE_BATCH_SIZE, default_user=user, default_change_reason=reason)
    for target, revision in zip(targets, created, strict=True):
        target.revision = revision
    return created


def _write_snapshots(plan: PushPlan, unit_ids: Mapping[str, int], user, reason: str,
                     inbound_message: InboundMessage | None) -> list[EBom]:
    targets = plan.snapshots
    if not targets:
        return []
    replaced = [t.current.pk for t in targets if t.current]
    if replaced:
        # The one field of a snapshot that moves: the newest is current (see EBom).
        EBom.objects.filter(pk__in=replaced).update(is_current=False)
    snapshots = EBom.objects.bulk_create([
        EBom(revision=t.revision, number=t.next_number, is_current=True, created_by=user,
             reason=reason, inbound_message=inbound_message, line_count=len(t.assembly.lines),
             fingerprint=t.assembly.fingerprint)
        for t in targets])
    part_ids = {number: part.pk for number, part in plan.parts.items()}
    insert_rows(EBomLine, EBOM_LINE_COLUMNS, (
        (snapshot.pk, line.find_number, part_ids[line.part], line.quantity, unit_ids[line.unit],
         list(line.reference_designators), line.item_type, line.attributes)
        for target, snapshot in zip(targets, snapshots, strict=True)
        for line in target.assembly.lines), batch_size=LINE_BATCH_SIZE)
    return snapshots
