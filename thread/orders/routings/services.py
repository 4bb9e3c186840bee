"""Writes of work centers and routings (docs/work-orders.md, "Routings").

A routing version is released once and never changes; a change is a new version. Two ways in:
the ERP pushes a routing (a released version at once, since the ERP releases its routings
itself; a push identical to the version in force changes nothing), or a process engineer starts
a draft in the admin, edits its operations and releases it with a reason and an effective date.
Every input problem is named with a JSON pointer and nothing is written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from thread.catalog.effectivity import plant_date
from thread.catalog.models import Part, Plant
from thread.errors import ErrorItem, StateConflict, refuse
from thread.flows.models import ExternalSystem
from thread.history import acting_user, audited, require_reason

from ..choices import RoutingStatus
from ..models import Routing, RoutingOperation, RoutingVersion, WorkCenter
from .selectors import latest_released_version
from .sending import routing_release_send

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SHIFT_START = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MAX_MINUTES = Decimal("1e9")


@dataclass(frozen=True)
class WorkCenterInput:
    plant: str
    code: str
    name: str
    capacity_unit: str = "h"
    shift_starts: dict[str, list[str]] | None = None
    active: bool = True


@dataclass(frozen=True)
class OperationInput:
    sequence: int
    operation_code: str
    work_center: str  # the work center's code at the routing's plant
    description: str = ""
    setup_minutes: Decimal = Decimal(0)
    run_minutes: Decimal = Decimal(0)
    queue_minutes: Decimal | None = None
    move_minutes: Decimal | None = None
    milestone: bool = False
    reports_quantity: bool = False
    instructions: str = ""
    document_reference: str = ""


OPERATION_FIELDS = tuple(f.name for f in fields(OperationInput) if f.name != "work_center")


@dataclass
class RoutingPushResult:
    version: RoutingVersion
    created: bool


# --- Work centers ----------------------------------------------------------------------------

def shift_starts_problems(pointer: str, value: Any) -> list[ErrorItem]:
    """A shift calendar is {weekday: ["HH:MM", …]} with weekdays mon…sun."""
    if value is None:
        return []
    if not isinstance(value, dict):
        return [ErrorItem(pointer, "invalid", 'An object such as {"mon": ["06:00", "14:00"]}.')]
    problems = []
    for day, starts in value.items():
        if day not in WEEKDAYS:
            problems.append(ErrorItem(f"{pointer}/{day}", "invalid_weekday",
                                      f"Weekdays are {', '.join(WEEKDAYS)}."))
        elif not isinstance(starts, list) or not all(
                isinstance(s, str) and SHIFT_START.match(s) for s in starts):
            problems.append(ErrorItem(f"{pointer}/{day}", "invalid_time",
                                      "A list of shift start times, HH:MM (00:00 to 23:59)."))
        elif len(set(starts)) != len(starts):
            problems.append(ErrorItem(f"{pointer}/{day}", "duplicate", "A start time twice."))
    return problems


def work_centers_upsert(*, centers: Sequence[WorkCenterInput], actor: AbstractBaseUser | None,
                        reason: str) -> dict[str, list[WorkCenter]]:
    """Create or update work centers by (plant, code); one transaction, nothing written on any
    problem."""
    reason = require_reason(reason)
    plants = {p.code: p for p in Plant.objects.filter(code__in={c.plant for c in centers})}
    problems, seen = [], set()
    for index, center in enumerate(centers):
        at = f"/work_centers/{index}"
        if center.plant not in plants:
            problems.append(ErrorItem(f"{at}/plant", "unknown_plant",
                                      f"Unknown plant {center.plant!r}."))
        if (center.plant, center.code) in seen:
            problems.append(ErrorItem(f"{at}/code", "duplicate",
                                      f"{center.code} at {center.plant} is sent twice."))
        seen.add((center.plant, center.code))
        problems += _text_problems(at, code=(center.code, 32, True), name=(center.name, 100, True),
                                   capacity_unit=(center.capacity_unit, 20, True))
        problems += shift_starts_problems(f"{at}/shift_starts", center.shift_starts)
    refuse(problems)
    result: dict[str, list[WorkCenter]] = {"created": [], "updated": [], "unchanged": []}
    with transaction.atomic():
        existing = {(w.plant_id, w.code): w for w in WorkCenter.objects.select_for_update()
                    .filter(plant__in=plants.values(), code__in={c.code for c in centers})}
        for given in centers:
            plant = plants[given.plant]
            center = existing.get((plant.pk, given.code))
            values = {"name": given.name, "capacity_unit": given.capacity_unit,
                      "shift_starts": given.shift_starts or {}, "active": given.active}
            if center is None:
                center = WorkCenter(plant=plant, code=given.code, **values)
                kind = "created"
            elif any(getattr(center, k) != v for k, v in values.items()):
                for name, value in values.items():
                    setattr(center, name, value)
                kind = "updated"
            else:
                result["unchanged"].append(center)
                continue
            audited(center, actor, reason).save()
            result[kind].append(center)
    return result


# --- Routings --------------------------------------------------------------------------------

def routing_push(*, system: ExternalSystem, part: str, plant: str, effective_from: date | None,
                 operations: Sequence[OperationInput], actor: AbstractBaseUser | None,
                 reason: str, description: str = "") -> RoutingPushResult:
    """The ERP's routing of `part` at `plant`: released at once as a new version effective from
    `effective_from` (default: today at the plant), unless the newest released version already
    has these operations from that date (then nothing is written)."""
    reason = require_reason(reason)
    found_part = Part.objects.filter(number=part).first()
    found_plant = Plant.objects.filter(code=plant).first()
    problems = []
    if found_part is None:
        problems.append(ErrorItem("/part", "unknown_part", f"Unknown part {part!r}."))
    if found_plant is None:
        problems.append(ErrorItem("/plant", "unknown_plant", f"Unknown plant {plant!r}."))
    problems += _text_problems("", description=(description, 200, False))
    problems += operations_problems(operations, found_plant)
    refuse(problems)
    assert found_part is not None and found_plant is not None
    effective = effective_from or plant_date(found_plant, timezone.now())
    with transaction.atomic():
        routing, _ = Routing.objects.select_for_update().get_or_create(
            part=found_part, plant=found_plant, defaults={"description": description})
        latest = latest_released_version(routing=routing)
        centers = _centers(found_plant, operations)
        if latest is not None and latest.effective_from == effective and \
                operation_rows(latest) == _input_rows(operations, centers):
            return RoutingPushResult(latest, created=False)
        version = RoutingVersion(routing=routing, status=RoutingStatus.DRAFT, based_on=latest,
                                 created_by=acting_user(actor), notes=f"Pushed by {system.name}")
        audited(version, actor, reason).save()
        _write_operations(version, operations, centers, actor, reason)
        _release(version, effective_from=effective, actor=actor, reason=reason, sender=system)
    return RoutingPushResult(version, created=True)


def routing_draft_start(*, routing: Routing, actor: AbstractBaseUser | None,
                        reason: str) -> RoutingVersion:
    """A new draft holding a copy of the newest released version's operations."""
    reason = require_reason(reason)
    with transaction.atomic():
        routing = Routing.objects.select_for_update().get(pk=routing.pk)
        if routing.versions.filter(status=RoutingStatus.DRAFT).exists():
            raise StateConflict(f"{routing} has a draft already: edit or withdraw it.",
                                [ErrorItem("/routing", "draft_exists", "A draft exists.")])
        latest = latest_released_version(routing=routing)
        draft = RoutingVersion(routing=routing, status=RoutingStatus.DRAFT, based_on=latest,
                               created_by=acting_user(actor))
        audited(draft, actor, reason).save()
        if latest is not None:
            copies = [RoutingOperation(version=draft, **{
                name: getattr(op, name) for name in (*OPERATION_FIELDS, "work_center_id")})
                for op in latest.operations.all()]
            bulk_create_with_history(copies, RoutingOperation, default_user=acting_user(actor),
                                     default_change_reason=reason)
    return draft


def routing_version_release(*, version: RoutingVersion, effective_from: date | None,
                            actor: AbstractBaseUser | None, reason: str) -> RoutingVersion:
    """draft → released: numbered (the routing's highest + 1), effective from `effective_from`
    (default: today at the plant), frozen for good. Refused with every problem listed if an
    operation could not be sent (a work center of another plant, no operations)."""
    reason = require_reason(reason)
    with transaction.atomic():
        version = _locked_draft(version, "released")
        plant = version.routing.plant
        rows = list(version.operations.select_related("work_center__plant"))
        problems = [] if rows else [ErrorItem("/operations", "required",
                                              "A routing needs at least one operation.")]
        for index, op in enumerate(sorted(rows, key=lambda o: o.sequence)):
            if op.work_center.plant_id != plant.pk:
                problems.append(ErrorItem(
                    f"/operations/{index}/work_center", "foreign_work_center",
                    f"Operation {op.sequence}: {op.work_center} is not a work center of "
                    f"{plant.code}."))
        refuse(problems)
        _release(version, effective_from=effective_from or plant_date(plant, timezone.now()),
                 actor=actor, reason=reason)
    return version


def routing_draft_withdraw(*, version: RoutingVersion, actor: AbstractBaseUser | None,
                           reason: str) -> RoutingVersion:
    reason = require_reason(reason)
    with transaction.atomic():
        version = _locked_draft(version, "withdrawn")
        version.status = RoutingStatus.WITHDRAWN
        audited(version, actor, reason).save()
    return version


def draft_edit_refusal(version: RoutingVersion) -> StateConflict | None:
    """The refusal of an edit to a version's operations: only a draft's change."""
    if version.is_editable:
        return None
    detail = (f"{version} is {version.get_status_display().lower()}: its operations never "
              "change; start a new draft.")
    return StateConflict(detail, [ErrorItem("/status", "released", detail)],
                         code="released-routing-immutable")


def operations_problems(operations: Sequence[OperationInput], plant: Plant | None,
                        at: str = "/operations") -> list[ErrorItem]:
    """Everything wrong with a list of operations, each named by its pointer."""
    problems = [] if operations else [ErrorItem(at, "required",
                                                "A routing needs at least one operation.")]
    named = {o.work_center for o in operations}
    centers, others = {}, set()
    if plant is not None:
        centers = _centers(plant, operations)
        others = set(WorkCenter.objects.filter(code__in=named - set(centers))
                     .exclude(plant=plant).values_list("code", "plant__code"))
    sequences, codes = set(), set()
    for index, op in enumerate(operations):
        where = f"{at}/{index}"
        if op.sequence < 1:
            problems.append(ErrorItem(f"{where}/sequence", "invalid", "1 or more."))
        if op.sequence in sequences:
            problems.append(ErrorItem(f"{where}/sequence", "duplicate",
                                      f"Sequence {op.sequence} is used twice."))
        sequences.add(op.sequence)
        if op.operation_code in codes:
            problems.append(ErrorItem(f"{where}/operation_code", "duplicate",
                                      f"Operation code {op.operation_code} is used twice."))
        codes.add(op.operation_code)
        problems += _text_problems(where, operation_code=(op.operation_code, 40, True),
                                   description=(op.description, 200, False),
                                   document_reference=(op.document_reference, 300, False))
        for name in ("setup_minutes", "run_minutes", "queue_minutes", "move_minutes"):
            value = getattr(op, name)
            if value is not None and not (0 <= value < MAX_MINUTES):
                problems.append(ErrorItem(f"{where}/{name}", "out_of_range",
                                          "Minutes are 0 or more (and below 10⁹)."))
        if plant is not None and op.work_center not in centers:
            elsewhere = sorted(p for code, p in others if code == op.work_center)
            problems.append(
                ErrorItem(f"{where}/work_center", "foreign_work_center",
                          f"{op.work_center} is a work center of {', '.join(elsewhere)}, not "
                          f"{plant.code}.") if elsewhere else
                ErrorItem(f"{where}/work_center", "unknown_work_center",
                          f"No work center {op.work_center!r} at {plant.code}."))
    return problems


def operation_rows(version: RoutingVersion) -> list[tuple]:
    """A version's operations as comparable tuples, in sequence order."""
    return sorted((*(getattr(op, name) for name in OPERATION_FIELDS), op.work_center_id)
                  for op in version.operations.all())


def _input_rows(operations: Sequence[OperationInput], centers: dict[str, WorkCenter]
                ) -> list[tuple]:
    return sorted((*(getattr(op, name) for name in OPERATION_FIELDS),
                   centers[op.work_center].pk) for op in operations)


def _centers(plant: Plant, operations: Sequence[OperationInput]) -> dict[str, WorkCenter]:
    return {w.code: w for w in WorkCenter.objects.filter(
        plant=plant, code__in={o.work_center for o in operations})}


def _write_operations(version: RoutingVersion, operations: Sequence[OperationInput],
                      centers: dict[str, WorkCenter], actor, reason: str) -> None:
    rows = [RoutingOperation(version=version, work_center=centers[op.work_center],
                             **{name: getattr(op, name) for name in OPERATION_FIELDS})
            for op in operations]
    bulk_create_with_history(rows, RoutingOperation, default_user=acting_user(actor),
                             default_change_reason=reason)


def _release(version: RoutingVersion, *, effective_from: date, actor, reason: str,
             sender: ExternalSystem | None = None) -> None:
    highest = RoutingVersion.objects.filter(routing_id=version.routing_id).aggregate(
        n=Max("number"))["n"] or 0
    version.number, version.status = highest + 1, RoutingStatus.RELEASED
    version.effective_from, version.reason = effective_from, reason
    version.released_at, version.released_by = timezone.now(), acting_user(actor)
    audited(version, actor, reason).save()
    routing_release_send(version=version, sender=sender)


def _locked_draft(version: RoutingVersion, verb: str) -> RoutingVersion:
    version = RoutingVersion.objects.select_for_update().select_related(
        "routing__plant", "routing__part").get(pk=version.pk)
    if version.status != RoutingStatus.DRAFT:
        raise StateConflict(f"{version} is {version.get_status_display().lower()}; only a draft "
                            f"is {verb}.", [ErrorItem("/status", "not_a_draft", "Not a draft.")])
    return version


def _text_problems(at: str, **values: tuple[str, int, bool]) -> list[ErrorItem]:
    problems = []
    for name, (value, limit, required) in values.items():
        if required and not (value or "").strip():
            problems.append(ErrorItem(f"{at}/{name}", "required", f"{name} is required."))
        elif len(value or "") > limit:
            problems.append(ErrorItem(f"{at}/{name}", "too_long", f"At most {limit} characters."))
    return problems


