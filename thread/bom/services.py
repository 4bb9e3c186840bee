"""Writes of eBOMs and of mapping rule sets.

eBOMs: one push of a structure: validate everything (thread.bom.ingest, then
thread.bom.planning), then write parts, revisions, snapshots and lines in bulk, and release
if asked, all in one transaction: all or nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Max, Model
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from thread.catalog import services as catalog
from thread.catalog.models import Part, PartRevision, Plant, UnitOfMeasure
from thread.catalog.selectors import unit_catalog
from thread.catalog.units import UnitCatalog
from thread.errors import ErrorItem, InvalidInput, StateConflict, invalid
from thread.flows.models import ExternalSystem, InboundMessage
from thread.history import audited, require_reason

from . import engine, regeneration, selectors
from .choices import OPEN_STATUSES, PUBLISHED_STATUSES, RuleSetEventKind, VersionStatus
from .copy import insert_rows
from .engine import RuleError
from .ingest import ParsedPush, parse_push
from .models import (
    EBom,
    EBomLine,
    MappingRule,
    MappingRuleSet,
    MappingRuleSetEvent,
    MappingRuleSetVersion,
)
from .planning import PushPlan, plan_push

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
    return EBomPushResult(
        top=plan.top.revision, created_parts=created_parts, created_revisions=created_revisions,
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


# --- Mapping rule sets ------------------------------------------------------------------------
#
# A rule set is a series of versions. Only a draft's rules change; every path to a published
# version (publish, approve, roll back) goes through `_publish`, which numbers the version,
# supersedes the previous one, records the event and starts the mBOM regeneration job (enqueued
# on commit), so that no path can skip it.


@dataclass(frozen=True)
class RuleInput:
    """A rule as an analyst writes it (form or API), before it is stored."""

    order: int
    name: str
    action: str
    condition: Any
    params: Any = field(default_factory=dict)
    enabled: bool = True


@dataclass(frozen=True)
class RuleProblem:
    """Why a stored rule cannot run: `field` is the rule's field at fault (condition, params,
    action), `pointer` the engine's pointer into it, `message` the engine's sentence."""

    rule_id: int
    order: int
    name: str
    field: str
    pointer: str
    message: str

    def __str__(self) -> str:
        return f"rule {self.order} “{self.name}”, {self.pointer.lstrip('/')}: {self.message}"


def rule_errors(*, plant: Plant, rules: Sequence[RuleInput]) -> list[list[RuleError]]:
    """Every fault of each rule (shape, and the parts and units it names at `plant`), in the
    order given; the catalog is read once for all of them (the admin form's check)."""
    context = selectors.plant_context(plant=plant, part_numbers=selectors.rule_part_numbers(rules))
    return [engine.validate_rule(rule.action, rule.params, rule.condition, context)
            for rule in rules]


def rule_set_version_check(*, version: MappingRuleSetVersion) -> list[RuleProblem]:
    """Everything that stops the version's enabled rules from running at its plant (the publish
    check), in rule order. Empty: the version can be published."""
    rules = selectors.engine_rules(version=version)
    context = selectors.plant_context(plant=version.rule_set.plant,
                                      part_numbers=selectors.rule_part_numbers(rules))
    by_id = {rule.id: rule for rule in rules}
    problems = []
    for error in engine.validate_rules(rules, context):
        rule = by_id[error.rule_id]
        problems.append(RuleProblem(rule_id=rule.id, order=rule.order, name=rule.name,
                                    field=error.pointer.split("/")[1] or "action",
                                    pointer=error.pointer, message=error.message))
    return problems


def rule_set_create(
    *, plant: Plant, name: str, actor: AbstractBaseUser | None, reason: str,
    description: str = "", requires_approval: bool = False,
) -> MappingRuleSet:
    """A plant's rule set, with an empty draft to start from."""
    reason = require_reason(reason)
    with transaction.atomic():
        if MappingRuleSet.objects.filter(plant=plant).exists():
            raise StateConflict(f"Plant {plant.code} has a rule set already; a plant has one, "
                                "with versions.", [ErrorItem("/plant", "exists", "Taken.")])
        rule_set = MappingRuleSet(plant=plant, name=name, description=description,
                                  requires_approval=requires_approval)
        rule_set.full_clean()
        audited(rule_set, actor, reason).save()
        _new_version(rule_set, status=VersionStatus.DRAFT, based_on=None, actor=actor,
                     reason=reason)
    return rule_set


def rule_set_update(
    *, rule_set: MappingRuleSet, actor: AbstractBaseUser | None, reason: str, **changes: Any,
) -> MappingRuleSet:
    """Change the rule set's own settings (name, description, requires_approval); its rules
    change only through versions."""
    unknown = set(changes) - set(RULE_SET_FIELDS)
    if unknown:
        raise TypeError(f"unknown rule set fields {sorted(unknown)}")
    reason = require_reason(reason)
    with transaction.atomic():
        rule_set = MappingRuleSet.objects.select_for_update().get(pk=rule_set.pk)
        changed = {k: v for k, v in changes.items() if getattr(rule_set, k) != v}
        if changed:
            for key, value in changed.items():
                setattr(rule_set, key, value)
            rule_set.full_clean()
            audited(rule_set, actor, reason).save()
    return rule_set


def rule_set_draft_start(
    *, rule_set: MappingRuleSet, actor: AbstractBaseUser | None, reason: str,
) -> MappingRuleSetVersion:
    """A new draft holding a copy of the current published version's rules."""
    reason = require_reason(reason)
    with transaction.atomic():
        rule_set = MappingRuleSet.objects.select_for_update().select_related("plant").get(
            pk=rule_set.pk)
        _refuse_if_open(rule_set)
        current = MappingRuleSetVersion.objects.filter(
            rule_set=rule_set, status=VersionStatus.PUBLISHED).first()
        draft = _new_version(rule_set, status=VersionStatus.DRAFT, based_on=current, actor=actor,
                             reason=reason)
        if current is not None:
            _copy_rules(current, draft, actor, reason)
    return draft


def draft_lock_refusal(version: MappingRuleSetVersion, lock_version: int) -> StateConflict | None:
    """The refusal of a save based on `lock_version` when the draft has been saved since (by
    someone else, or in another tab): None if the save may go ahead."""
    if lock_version == version.lock_version:
        return None
    who = version.updated_by.get_username() if version.updated_by else "Someone"
    when = timezone.localtime(version.updated_at).strftime("%H:%M")
    detail = (f"{who} saved this draft at {when} after you opened it; reload and re-apply "
              "your change.")
    return StateConflict(detail, [ErrorItem("/lock_version", "stale", detail)])


def draft_edit_refusal(*, version: MappingRuleSetVersion,
                       lock_version: int) -> StateConflict | None:
    """The refusal of a save of this draft based on `lock_version` (no longer a draft, or saved
    since), or None if it may go ahead. Forms ask it so they can show the refusal next to the
    fields; `rule_set_draft_edit` raises it."""
    try:
        _require_editable(version)
    except StateConflict as refusal:
        return refusal
    return draft_lock_refusal(version, lock_version)


def rule_set_draft_edit(
    *, version: MappingRuleSetVersion, lock_version: int, actor: AbstractBaseUser | None,
    reason: str, notes: str | None = None, add: Sequence[RuleInput] = (),
    change: Mapping[int, RuleInput] | None = None, delete: Iterable[int] = (),
) -> MappingRuleSetVersion:
    """One save of a draft: add, change and delete rules and set its notes, all or nothing.

    Refused if the draft was saved since `lock_version` was read (optimistic locking), if it is
    no longer a draft, or if a rule added or changed is faulty (every fault, with pointers
    `/add/<i>/params/...` and `/rules/<id>/params/...`). Each save counts up `lock_version`."""
    reason = require_reason(reason)
    change = dict(change or {})
    delete = set(delete)
    with transaction.atomic():
        version = _lock(version)
        refusal = draft_edit_refusal(version=version, lock_version=lock_version)
        if refusal is not None:
            raise refusal
        existing = {rule.pk: rule for rule in MappingRule.objects.filter(version=version)}
        strangers = (set(change) | delete) - set(existing)
        if strangers:
            raise invalid("/rules", "not_in_version",
                          f"Rules {sorted(strangers)} are not rules of this draft.")
        checked = [*add, *change.values()]
        pointers = [f"/add/{i}" for i in range(len(add))] + [f"/rules/{pk}" for pk in change]
        errors = [ErrorItem(f"{where}{e.pointer}", "invalid_rule", e.message)
                  for where, found in zip(pointers, rule_errors(plant=version.rule_set.plant,
                                                                 rules=checked), strict=True)
                  for e in found]
        if errors:
            raise InvalidInput(f"{len(errors)} problem(s) in the rules; nothing was saved.",
                               errors)
        for pk in sorted(delete):
            audited(existing[pk], actor, reason).delete()
        for pk, given in change.items():
            rule = existing[pk]
            if _rule_fields(rule) != _input_fields(given):
                _assign(rule, given)
                audited(rule, actor, reason).save()
        for given in add:
            rule = MappingRule(version=version)
            _assign(rule, given)
            audited(rule, actor, reason).save()
        if notes is not None:
            version.notes = notes
        version.lock_version += 1
        version.updated_at = timezone.now()
        version.updated_by = _user(actor)
        audited(version, actor, reason).save()
    return version


def rule_set_version_publish(
    *, version: MappingRuleSetVersion, actor: AbstractBaseUser | None, reason: str,
) -> MappingRuleSetVersion:
    """draft → published (number = the rule set's highest + 1; the previous published version
    becomes superseded). Refused, with every problem listed, if a rule cannot run, and for a
    rule set that requires approval (request it instead). Returns the published version."""
    reason = require_reason(reason)
    with transaction.atomic():
        version = _lock(version)
        _require_status(version, VersionStatus.DRAFT, "published")
        if version.rule_set.requires_approval:
            raise StateConflict(
                f"{version.rule_set} requires a second person's approval: request approval "
                "instead of publishing.",
                [ErrorItem("/status", "approval_required", "Request approval.")])
        _refuse_if_cannot_run(version)
        return _publish(version, actor=actor, reason=reason)


def rule_set_version_request_approval(
    *, version: MappingRuleSetVersion, actor: AbstractBaseUser | None, reason: str,
) -> MappingRuleSetVersion:
    """draft → pending approval. The rules are checked first: nobody is asked to approve a
    version that cannot run. The draft is frozen until approved or rejected."""
    reason = require_reason(reason)
    with transaction.atomic():
        version = _lock(version)
        _require_status(version, VersionStatus.DRAFT, "submitted for approval")
        _refuse_if_cannot_run(version)
        _submit(version, actor, reason)
    return version


def rule_set_version_approve(
    *, version: MappingRuleSetVersion, actor: AbstractBaseUser, reason: str,
) -> MappingRuleSetVersion:
    """pending approval → published, by a second person: someone with the approve permission
    who neither created, edited nor submitted the version. Returns the published version."""
    reason = require_reason(reason)
    with transaction.atomic():
        version = _lock(version)
        _require_status(version, VersionStatus.PENDING_APPROVAL, "approved")
        if actor is None or not actor.is_authenticated or not actor.has_perm(
                "bom.approve_mappingrulesetversion"):
            raise StateConflict("Only a person with the right to approve rule set versions may "
                                "approve.", [ErrorItem("/actor", "not_approver", "No right.")],
                                code="forbidden")
        if actor.pk in selectors.version_authors(version=version):
            raise StateConflict(
                f"{actor.get_username()} created, edited or submitted this version; a second "
                "person must approve it (four-eyes).",
                [ErrorItem("/actor", "same_person", "Four-eyes: another person must approve.")])
        _refuse_if_cannot_run(version)
        now = timezone.now()
        version.approved_at, version.approved_by = now, actor
        _event(version, RuleSetEventKind.APPROVED, actor, reason, at=now)
        return _publish(version, actor=actor, reason=reason)


def rule_set_version_reject(
    *, version: MappingRuleSetVersion, actor: AbstractBaseUser | None, reason: str,
) -> MappingRuleSetVersion:
    """pending approval → draft, with the reason, so the analysts can change it. The requester
    may reject (recall) their own request: four-eyes constrains approval, not rejection."""
    reason = require_reason(reason)
    with transaction.atomic():
        version = _lock(version)
        _require_status(version, VersionStatus.PENDING_APPROVAL, "rejected")
        version.status = VersionStatus.DRAFT
        version.requested_at = version.requested_by = None
        audited(version, actor, reason).save()
        _event(version, RuleSetEventKind.REJECTED, actor, reason)
    return version


def rule_set_version_rollback(
    *, version: MappingRuleSetVersion, actor: AbstractBaseUser | None, reason: str,
) -> MappingRuleSetVersion:
    """Publish the rules of the older version `version` again, as a new version (N+1): history
    only grows. With four-eyes the new version waits for approval (and needs the rule set to
    have no other open draft); otherwise it is published at once, and an open draft stays as
    it is. Refused if those rules can no longer run. Returns the new version."""
    reason = require_reason(reason)
    with transaction.atomic():
        version = _lock(version)
        _require_status(version, VersionStatus.SUPERSEDED, "rolled back to")
        _refuse_if_cannot_run(version)
        rule_set = version.rule_set
        details = {"rules_of_version": version.number}
        if rule_set.requires_approval:
            _refuse_if_open(rule_set)
            new = _new_version(rule_set, status=VersionStatus.DRAFT, based_on=version,
                               actor=actor, reason=reason, event=RuleSetEventKind.ROLLED_BACK,
                               details=details)
            _copy_rules(version, new, actor, reason)
            _submit(new, actor, reason)
            return new
        new = MappingRuleSetVersion(rule_set=rule_set, based_on=version, created_by=_user(actor),
                                    updated_by=_user(actor),
                                    notes=f"Roll back to the rules of v{version.number}.")
        published = _publish(new, actor=actor, reason=reason)
        _copy_rules(version, published, actor, reason)
        _event(published, RuleSetEventKind.ROLLED_BACK, actor, reason, details=details)
        return published


def rule_set_draft_withdraw(
    *, version: MappingRuleSetVersion, actor: AbstractBaseUser | None, reason: str,
) -> MappingRuleSetVersion:
    """draft → withdrawn: the draft is abandoned (kept for the record, never published), so a
    new one can be started."""
    reason = require_reason(reason)
    with transaction.atomic():
        version = _lock(version)
        _require_status(version, VersionStatus.DRAFT, "withdrawn")
        version.status = VersionStatus.WITHDRAWN
        audited(version, actor, reason).save()
        _event(version, RuleSetEventKind.WITHDRAWN, actor, reason)
    return version


RULE_SET_FIELDS = ("name", "description", "requires_approval")
RULE_FIELDS = ("order", "name", "action", "condition", "params", "enabled")


def _user(actor: AbstractBaseUser | None):
    return actor if actor is not None and actor.is_authenticated else None


def _lock(version: MappingRuleSetVersion) -> MappingRuleSetVersion:
    """Lock the rule set, then the version: every transition of one rule set is serialised,
    so two publishes cannot both take the next number or both supersede the same version."""
    list(MappingRuleSet.objects.select_for_update().filter(pk=version.rule_set_id)
         .values_list("pk", flat=True))
    return (MappingRuleSetVersion.objects.select_for_update(of=("self",))
            .select_related("rule_set__plant", "updated_by").get(pk=version.pk))


def _require_status(version: MappingRuleSetVersion, status: str, what: str) -> None:
    if version.status != status:
        raise StateConflict(
            f"{version} is {version.get_status_display().lower()}; only a "
            f"{VersionStatus(status).label.lower()} version can be {what}.",
            [ErrorItem("/status", "invalid_transition", f"Not {status}.")])


def _require_editable(version: MappingRuleSetVersion) -> None:
    if version.status in PUBLISHED_STATUSES:
        detail = (f"{version} is published: its rules never change. Start a new draft from "
                  "the current version instead.")
        raise StateConflict(detail, [ErrorItem("/status", "published", detail)])
    _require_status(version, VersionStatus.DRAFT, "edited")


def _refuse_if_open(rule_set: MappingRuleSet) -> None:
    open_version = MappingRuleSetVersion.objects.filter(
        rule_set=rule_set, status__in=OPEN_STATUSES).first()
    if open_version is not None:
        raise StateConflict(
            f"{rule_set} has an open version ({open_version.get_status_display().lower()}, "
            f"id {open_version.pk}); publish, reject or withdraw it first.",
            [ErrorItem("/rule_set", "open_version", "An open version exists.")])


def _refuse_if_cannot_run(version: MappingRuleSetVersion) -> None:
    problems = rule_set_version_check(version=version)
    if problems:
        raise InvalidInput(
            f"{version} cannot run: {len(problems)} problem(s); nothing was changed.",
            [ErrorItem(f"/rules/{p.rule_id}{p.pointer}", "rule_cannot_run", str(p))
             for p in problems])


def _new_version(rule_set: MappingRuleSet, *, status: str, based_on, actor, reason: str,
                 event: str = RuleSetEventKind.DRAFT_STARTED,
                 details: dict | None = None) -> MappingRuleSetVersion:
    version = MappingRuleSetVersion(rule_set=rule_set, status=status, based_on=based_on,
                                    created_by=_user(actor), updated_by=_user(actor))
    audited(version, actor, reason).save()
    _event(version, event, actor, reason,
           details={**({"based_on": based_on.number} if based_on else {}), **(details or {})})
    return version


def _submit(version: MappingRuleSetVersion, actor, reason: str) -> None:
    version.status = VersionStatus.PENDING_APPROVAL
    version.requested_at, version.requested_by = timezone.now(), _user(actor)
    audited(version, actor, reason).save()
    _event(version, RuleSetEventKind.APPROVAL_REQUESTED, actor, reason)


def _publish(version: MappingRuleSetVersion, *, actor, reason: str) -> MappingRuleSetVersion:
    """The one way a version becomes published (the caller holds the rule set's lock)."""
    now = timezone.now()
    previous = (MappingRuleSetVersion.objects.select_for_update()
                .filter(rule_set_id=version.rule_set_id, status=VersionStatus.PUBLISHED).first())
    if previous is not None:
        # Before the new one is saved: one published version per rule set, at every moment.
        previous.status = VersionStatus.SUPERSEDED
        audited(previous, actor, f"Superseded by a newer publish: {reason}").save()
    highest = (MappingRuleSetVersion.objects.filter(rule_set_id=version.rule_set_id)
               .aggregate(highest=Max("number"))["highest"] or 0)
    version.number = highest + 1
    version.status = VersionStatus.PUBLISHED
    version.published_at, version.published_by = now, _user(actor)
    version.reason = reason
    audited(version, actor, reason).save()
    _event(version, RuleSetEventKind.PUBLISHED, actor, reason, at=now,
           details={"number": version.number,
                    **({"superseded": previous.number} if previous else {})})
    # The plant's mBOMs follow the rules in force: regenerated by a background job that starts
    # once this transaction commits (docs/mbom.md).
    regeneration.regeneration_job_start(version=version, actor=actor, reason=reason)
    return version


def _copy_rules(source: MappingRuleSetVersion, target: MappingRuleSetVersion, actor,
                reason: str) -> None:
    copies = [MappingRule(version=target, **{f: getattr(rule, f) for f in RULE_FIELDS})
              for rule in MappingRule.objects.filter(version=source).order_by("order", "id")]
    if copies:
        bulk_create_with_history(copies, MappingRule, default_user=_user(actor),
                                 default_change_reason=reason)


def _event(version: MappingRuleSetVersion, kind: str, actor, reason: str, at=None,
           details: dict | None = None) -> MappingRuleSetEvent:
    return MappingRuleSetEvent.objects.create(version=version, kind=kind, actor=_user(actor),
                                              at=at or timezone.now(), reason=reason,
                                              details=details or {})


def _rule_fields(rule: MappingRule) -> tuple:
    return tuple(getattr(rule, f) for f in RULE_FIELDS)


def _input_fields(given: RuleInput) -> tuple:
    return tuple(getattr(given, f) for f in RULE_FIELDS)


def _assign(rule: MappingRule, given: RuleInput) -> None:
    for name in RULE_FIELDS:
        setattr(rule, name, getattr(given, name))
