"""Writes of mapping rule sets: drafts, their edits, the four-eyes workflow and publishing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from thread.bom import engine
from thread.bom.choices import OPEN_STATUSES, PUBLISHED_STATUSES, RuleSetEventKind, VersionStatus
from thread.bom.engine import RuleError
from thread.bom.mbom import regeneration
from thread.bom.mbom import selectors as mbom_selectors
from thread.bom.models import (
    MappingRule,
    MappingRuleSet,
    MappingRuleSetEvent,
    MappingRuleSetVersion,
)
from thread.bom.rules import selectors as rules_selectors
from thread.catalog.models import Plant
from thread.errors import ErrorItem, InvalidInput, StateConflict, invalid
from thread.history import audited, require_reason

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
    context = mbom_selectors.plant_context(plant=plant, part_numbers=mbom_selectors.rule_part_numbers(rules))
    return [engine.validate_rule(rule.action, rule.params, rule.condition, context)
            for rule in rules]


def rule_set_version_check(*, version: MappingRuleSetVersion) -> list[RuleProblem]:
    """Everything that stops the version's enabled rules from running at its plant (the publish
    check), in rule order. Empty: the version can be published."""
    rules = mbom_selectors.engine_rules(version=version)
    context = mbom_selectors.plant_context(plant=version.rule_set.plant,
                                      part_numbers=mbom_selectors.rule_part_numbers(rules))
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
        if actor.pk in rules_selectors.version_authors(version=version):
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
