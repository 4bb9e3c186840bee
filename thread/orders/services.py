"""Writes of the order mirrors and of impact flags (docs/orders-and-impact.md).

The ERP pushes its open orders in bulk; each push is one transaction that validates everything
first (every problem with a JSON pointer, nothing written on error), then creates what is new,
saves what changed (with history) and leaves the rest alone. Orders missing from a push are
never closed or deleted: the ERP says when an order closes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.db import models, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from thread.bom.models import MBomVersion
from thread.catalog.effectivity import plant_date
from thread.catalog.models import Part, PartRevision, PartUnitConversion, Plant, UnitOfMeasure
from thread.catalog.quantities import QuantityProblem, parse_quantity
from thread.catalog.selectors import revisions_in_effect, unit_catalog
from thread.catalog.units import UnitNotRecognised
from thread.errors import ErrorItem, StateConflict, invalid, refuse
from thread.flows.choices import SystemKind
from thread.flows.models import ExternalSystem
from thread.history import acting_user, audited, require_reason

from .choices import ProductionOrderStatus, PurchaseOrderStatus
from .models import ProductionOrder, PurchaseOrder, PurchaseOrderLine
from .work_orders.follow import order_snapshot, work_orders_follow_orders
from .work_orders.services import work_orders_for_released

M = TypeVar("M", bound=models.Model)


# --- Input as plain data ---------------------------------------------------------------------

@dataclass(frozen=True)
class PurchaseOrderLineInput:
    line_number: int
    part: str
    quantity: Decimal
    unit: str
    due_date: date
    received_quantity: Decimal = Decimal(0)
    status: str = PurchaseOrderStatus.OPEN


@dataclass(frozen=True)
class PurchaseOrderInput:
    number: str
    supplier: str
    plant: str
    status: str
    lines: Sequence[PurchaseOrderLineInput]
    erp_status: str = ""
    order_date: date | None = None


@dataclass(frozen=True)
class ProductionOrderInput:
    """`planned_start`/`planned_end`: aware datetimes, or dates meaning 00:00 at the plant."""

    number: str
    part: str
    plant: str
    quantity: Decimal
    unit: str
    planned_start: datetime | date
    planned_end: datetime | date
    status: str = ProductionOrderStatus.PLANNED
    erp_status: str = ""


@dataclass
class UpsertResult:
    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


# --- Purchase orders -------------------------------------------------------------------------

PO_FIELDS = ("supplier", "plant_id", "status", "erp_status", "order_date")
LINE_FIELDS = ("part_id", "quantity", "unit_id", "due_date", "received_quantity", "status")


def purchase_orders_upsert(*, system: ExternalSystem, orders: Sequence[PurchaseOrderInput],
                           actor: AbstractBaseUser | None, reason: str) -> UpsertResult:
    """Create or update the ERP's purchase orders by (system, number). An order's lines become
    the lines sent (matched by line number: changed ones saved, new ones added, missing ones
    deleted); orders not in the push stay as they are. A fixed number of queries plus one save
    per changed order or line."""
    reason = require_reason(reason)
    _require_erp(system)
    refs = _References.load(
        system=system, parts={line.part for order in orders for line in order.lines},
        plants={order.plant for order in orders},
        units={line.unit for order in orders for line in order.lines})
    problems = _check_numbers(orders)
    for index, order in enumerate(orders):
        at = f"/orders/{index}"
        problems += _text_problems(PurchaseOrder, at, number=order.number,
                                   supplier=order.supplier, erp_status=order.erp_status)
        problems += _choice_problem(f"{at}/status", order.status, PurchaseOrderStatus)
        problems += refs.plant_problem(f"{at}/plant", order.plant)
        if not order.lines:
            problems.append(ErrorItem(f"{at}/lines", "required", "An order needs a line."))
        seen: set[int] = set()
        for number, line in enumerate(order.lines):
            where = f"{at}/lines/{number}"
            if line.line_number in seen:
                problems.append(ErrorItem(f"{where}/line_number", "duplicate",
                                          f"Line {line.line_number} is sent twice."))
            seen.add(line.line_number)
            if line.line_number < 1:
                problems.append(ErrorItem(f"{where}/line_number", "invalid",
                                          "A line number is 1 or more."))
            problems += _quantity_problem(f"{where}/quantity", line.quantity)
            if line.received_quantity < 0:
                problems.append(ErrorItem(f"{where}/received_quantity", "negative",
                                          "The received quantity is 0 or more."))
            problems += _choice_problem(f"{where}/status", line.status, PurchaseOrderStatus)
            problems += refs.part_unit_problems(where, line.part, line.unit)
    refuse(problems)

    user = acting_user(actor)
    result = UpsertResult()
    with transaction.atomic():
        existing = {o.number: o for o in PurchaseOrder.objects.select_for_update()
                    .filter(system=system, number__in=[o.number for o in orders])}
        lines: dict[int, dict[int, PurchaseOrderLine]] = {}
        for line in PurchaseOrderLine.objects.filter(order__in=list(existing.values())):
            lines.setdefault(line.order_id, {})[line.line_number] = line
        new_orders, new_lines = [], []
        for given in orders:
            values = {"supplier": given.supplier, "plant_id": refs.plants[given.plant].pk,
                      "status": given.status, "erp_status": given.erp_status,
                      "order_date": given.order_date}
            order = existing.get(given.number)
            if order is None:
                order = PurchaseOrder(system=system, number=given.number, **values)
                new_orders.append((order, given))
                result.created.append(order)
                continue
            changed = _assign(order, values, PO_FIELDS)
            if changed:
                audited(order, actor, reason).save()
            changed |= _replace_lines(order, given, lines.get(order.pk, {}), refs, new_lines,
                                      actor, reason)
            (result.updated if changed else result.unchanged).append(order)
        if new_orders:
            bulk_create_with_history([o for o, _ in new_orders], PurchaseOrder,
                                     default_user=user, default_change_reason=reason)
            for order, given in new_orders:
                new_lines += [_line(order, line, refs) for line in given.lines]
        if new_lines:
            bulk_create_with_history(new_lines, PurchaseOrderLine, default_user=user,
                                     default_change_reason=reason)
    return result


def _line(order: PurchaseOrder, given: PurchaseOrderLineInput,
          refs: _References) -> PurchaseOrderLine:
    return PurchaseOrderLine(order=order, line_number=given.line_number,
                             **_line_values(given, refs))


def _line_values(given: PurchaseOrderLineInput, refs: _References) -> dict[str, Any]:
    return {"part_id": refs.parts[given.part].pk, "quantity": given.quantity,
            "unit_id": refs.units[given.unit].pk, "due_date": given.due_date,
            "received_quantity": given.received_quantity, "status": given.status}


def _replace_lines(order: PurchaseOrder, given: PurchaseOrderInput,
                   current: dict[int, PurchaseOrderLine], refs: _References,
                   new_lines: list[PurchaseOrderLine], actor, reason: str) -> bool:
    changed = False
    sent = {line.line_number for line in given.lines}
    for number, line in current.items():
        if number not in sent:
            audited(line, actor, reason).delete()
            changed = True
    for line_input in given.lines:
        line = current.get(line_input.line_number)
        if line is None:
            new_lines.append(_line(order, line_input, refs))
            changed = True
        elif _assign(line, _line_values(line_input, refs), LINE_FIELDS):
            audited(line, actor, reason).save()
            changed = True
    return changed


def purchase_order_status_set(*, order: PurchaseOrder, status: str, actor: AbstractBaseUser | None,
                              reason: str, erp_status: str = "") -> PurchaseOrder:
    """The ERP's status change of one order (its lines keep theirs)."""
    reason = require_reason(reason)
    refuse(_choice_problem("/status", status, PurchaseOrderStatus)
            + _text_problems(PurchaseOrder, "", erp_status=erp_status))
    with transaction.atomic():
        order = PurchaseOrder.objects.select_for_update().get(pk=order.pk)
        if _assign(order, {"status": status, "erp_status": erp_status}, ("status", "erp_status")):
            audited(order, actor, reason).save()
    return order


# --- Production orders -----------------------------------------------------------------------

PRODUCTION_FIELDS = ("part_id", "plant_id", "quantity", "unit_id", "planned_start",
                     "planned_end", "status", "erp_status")
RESOLUTION_FIELDS = ("revision_id", "mbom_version_id", "resolved_as_of", "resolution_note")


def production_orders_upsert(*, system: ExternalSystem, orders: Sequence[ProductionOrderInput],
                             actor: AbstractBaseUser | None, reason: str) -> UpsertResult:
    """Create or update the ERP's production orders by (system, number), each resolved to the
    part revision in effect on its planned start (a plant-local date) and that revision's
    current mBOM version at the plant. Orders not in the push stay as they are. A fixed number
    of queries plus one resolver call per distinct planned-start date and one save per changed
    order."""
    reason = require_reason(reason)
    _require_erp(system)
    refs = _References.load(system=system, parts={o.part for o in orders},
                            plants={o.plant for o in orders}, units={o.unit for o in orders})
    problems = _check_numbers(orders)
    starts: list[tuple[datetime | None, datetime | None]] = []
    for index, order in enumerate(orders):
        at = f"/orders/{index}"
        problems += _text_problems(ProductionOrder, at, number=order.number,
                                   erp_status=order.erp_status)
        problems += _choice_problem(f"{at}/status", order.status, ProductionOrderStatus)
        problems += _quantity_problem(f"{at}/quantity", order.quantity)
        problems += refs.plant_problem(f"{at}/plant", order.plant)
        problems += refs.part_unit_problems(at, order.part, order.unit)
        plant = refs.plants.get(order.plant)
        start, end = (_instant(order.planned_start, plant, f"{at}/planned_start", problems),
                      _instant(order.planned_end, plant, f"{at}/planned_end", problems))
        if start is not None and end is not None and end < start:
            problems.append(ErrorItem(f"{at}/planned_end", "before_start",
                                      "The planned end is before the planned start."))
        starts.append((start, end))
    refuse(problems)

    user = acting_user(actor)
    result = UpsertResult()
    with transaction.atomic():
        existing = {o.number: o for o in ProductionOrder.objects.select_for_update()
                    .filter(system=system, number__in=[o.number for o in orders])}
        pending: list[ProductionOrder] = []
        edited: set[int] = set()
        released_before = {o.number for o in existing.values()
                           if o.status == ProductionOrderStatus.RELEASED}
        snapshots = {o.number: order_snapshot(o) for o in existing.values()}
        for given, (start, end) in zip(orders, starts, strict=True):
            order = existing.get(given.number) or ProductionOrder(system=system,
                                                                  number=given.number)
            if _assign(order, {"part_id": refs.parts[given.part].pk,
                            "plant_id": refs.plants[given.plant].pk, "quantity": given.quantity,
                            "unit_id": refs.units[given.unit].pk, "planned_start": start,
                            "planned_end": end, "status": given.status,
                            "erp_status": given.erp_status}, PRODUCTION_FIELDS):
                edited.add(id(order))
            order.plant = refs.plants[given.plant]
            order.part = refs.parts[given.part]
            pending.append(order)
        resolutions = _resolutions(pending)
        new_orders = []
        for order in pending:
            before = existing.get(order.number)
            changed = _assign(order, resolutions[id(order)], RESOLUTION_FIELDS)
            if before is None:
                new_orders.append(order)
                result.created.append(order)
            elif changed or id(order) in edited:
                audited(order, actor, reason).save()
                result.updated.append(order)
            else:
                result.unchanged.append(order)
        if new_orders:
            bulk_create_with_history(new_orders, ProductionOrder, default_user=user,
                                     default_change_reason=reason)
        newly_released = [o for o in pending if o.status == ProductionOrderStatus.RELEASED
                          and o.number not in released_before]
        work_orders_for_released(orders=newly_released, actor=actor, reason=reason)
        released_now = {order.number for order in newly_released}
        # What the MES already has follows the ERP's change (a change, or a cancellation);
        # an order released by this very push was just built as it now stands.
        work_orders_follow_orders(
            changes=[(order, snapshots[order.number]) for order in result.updated
                     if order.number not in released_now], actor=actor, reason=reason)
    return result


def production_orders_resolve(*, orders: Iterable[ProductionOrder],
                              actor: AbstractBaseUser | None, reason: str) -> list[ProductionOrder]:
    """Resolve these orders again (after a release put a new revision in effect, or new mBOM
    versions were generated); saves and returns those whose answer changed."""
    reason = require_reason(reason)
    with transaction.atomic():
        locked = list(ProductionOrder.objects.select_for_update(of=("self",))
                      .select_related("plant", "part")
                      .filter(pk__in=[o.pk for o in orders]).order_by("pk"))
        resolutions = _resolutions(locked)
        changed = [o for o in locked if _assign(o, resolutions[id(o)], RESOLUTION_FIELDS)]
        for order in changed:
            audited(order, actor, reason).save()
    return changed


def production_order_status_set(*, order: ProductionOrder, status: str,
                                actor: AbstractBaseUser | None, reason: str,
                                erp_status: str = "") -> ProductionOrder:
    reason = require_reason(reason)
    refuse(_choice_problem("/status", status, ProductionOrderStatus)
            + _text_problems(ProductionOrder, "", erp_status=erp_status))
    with transaction.atomic():
        order = ProductionOrder.objects.select_for_update(of=("self",)).select_related(
            "plant__mes_system").get(pk=order.pk)
        released = (status == ProductionOrderStatus.RELEASED
                    and order.status != ProductionOrderStatus.RELEASED)
        before, was = order_snapshot(order), order.status
        if _assign(order, {"status": status, "erp_status": erp_status}, ("status", "erp_status")):
            audited(order, actor, reason).save()
        if released:
            work_orders_for_released(orders=[order], actor=actor, reason=reason)
        elif status == ProductionOrderStatus.CANCELLED != was:
            work_orders_follow_orders(changes=[(order, before)], actor=actor, reason=reason)
    return order


def production_order_release(*, order: ProductionOrder, actor: AbstractBaseUser | None,
                             reason: str) -> ProductionOrder:
    """A person releases an order to the shop floor from the admin: a planned order becomes
    released (as the ERP's status push would do it), and a released order without a work order
    (released before Thread sent work orders, or whose plant's MES changed) gets one."""
    reason = require_reason(reason)
    with transaction.atomic():
        order = ProductionOrder.objects.select_for_update(of=("self",)).select_related(
            "plant__mes_system").get(pk=order.pk)
        if order.status not in (ProductionOrderStatus.PLANNED, ProductionOrderStatus.RELEASED):
            detail = (f"{order} is {order.get_status_display().lower()}; only a planned or "
                      "released order is released to the shop floor.")
            raise StateConflict(detail, [ErrorItem("/status", "transition_not_allowed", detail)],
                                code="transition-not-allowed")
        if order.status != ProductionOrderStatus.RELEASED:
            order.status = ProductionOrderStatus.RELEASED
            audited(order, actor, reason).save()
        work_orders_for_released(orders=[order], actor=actor, reason=reason)
    return order


def _resolutions(orders: list[ProductionOrder]) -> dict[int, dict[str, Any]]:
    """What each order resolves to, by `id(order)`: the revision in effect on the plant-local
    date of its planned start (one resolver call per distinct date), then that revision's
    current mBOM version at the plant (one query for all)."""
    by_date: dict[date, set[int]] = {}
    as_of = {}
    for order in orders:
        as_of[id(order)] = plant_date(order.plant, order.planned_start)
        by_date.setdefault(as_of[id(order)], set()).add(order.part_id)
    revisions = {(day, part_id): revision
                 for day, part_ids in by_date.items()
                 for part_id, revision in revisions_in_effect(part_ids=part_ids,
                                                              as_of=day).items()}
    revision_ids = {r.pk for r in revisions.values()}
    versions = {(v.mbom.revision_id, v.mbom.plant_id): v for v in MBomVersion.objects.filter(
        is_current=True, mbom__revision_id__in=revision_ids,
        mbom__plant_id__in={o.plant_id for o in orders}).select_related("mbom")} \
        if revision_ids else {}
    found = {}
    for order in orders:
        day = as_of[id(order)]
        revision: PartRevision | None = revisions.get((day, order.part_id))
        version = versions.get((revision.pk, order.plant_id)) if revision else None
        if revision is None:
            note = (f"No released revision of {order.part.number} is in effect on {day} at "
                    f"{order.plant.code}.")
        elif version is None:
            note = f"{revision} has no mBOM at {order.plant.code} yet."
        else:
            note = ""
        found[id(order)] = {"revision_id": revision.pk if revision else None,
                            "mbom_version_id": version.pk if version else None,
                            "resolved_as_of": day, "resolution_note": note}
    return found


def _instant(value: datetime | date, plant: Plant | None, pointer: str,
             problems: list[ErrorItem]) -> datetime | None:
    if isinstance(value, datetime):
        if timezone.is_naive(value):
            problems.append(ErrorItem(pointer, "naive_datetime",
                                      "Give the time with its UTC offset (or send a date)."))
            return None
        return value
    if plant is None:
        return None
    return datetime.combine(value, time(0), tzinfo=ZoneInfo(plant.time_zone))


# --- Shared checks ---------------------------------------------------------------------------

@dataclass
class _References:
    """The catalog rows a push names, read in seven queries (three of them the ways of writing
    a unit, with the ERP's own unit codes)."""

    parts: dict[str, Part]
    plants: dict[str, Plant]
    units: dict[str, UnitOfMeasure]  # by the unit as written ("PCE", "litres")
    unit_refusals: dict[str, UnitNotRecognised]  # units as written that mean none, or several
    conversions: set[tuple[int, str, str]]  # part id, from dimension, to dimension (both ways)

    @classmethod
    def load(cls, *, system: ExternalSystem, parts: set[str], plants: set[str],
             units: set[str]) -> _References:
        found = {p.number: p for p in Part.objects.filter(number__in=parts)
                 .select_related("base_unit")}
        conversions = set()
        for c in PartUnitConversion.objects.filter(part__in=list(found.values())).select_related(
                "from_unit", "to_unit"):
            conversions |= {(c.part_id, c.from_unit.dimension, c.to_unit.dimension),
                            (c.part_id, c.to_unit.dimension, c.from_unit.dimension)}
        catalog = unit_catalog(system=system)
        codes, refusals = {}, {}
        for written in units:
            try:
                codes[written] = catalog.resolve(written)
            except UnitNotRecognised as exc:
                refusals[written] = exc
        by_code = {u.code: u for u in UnitOfMeasure.objects.filter(code__in=set(codes.values()))}
        return cls(parts=found,
                   plants={p.code: p for p in Plant.objects.filter(code__in=plants)},
                   units={written: by_code[code] for written, code in codes.items()},
                   unit_refusals=refusals, conversions=conversions)

    def plant_problem(self, pointer: str, code: str) -> list[ErrorItem]:
        return [] if code in self.plants else [
            ErrorItem(pointer, "unknown_plant", f"Unknown plant {code!r}.")]

    def part_unit_problems(self, at: str, number: str, written: str) -> list[ErrorItem]:
        part, unit = self.parts.get(number), self.units.get(written)
        problems = []
        if part is None:
            problems.append(ErrorItem(f"{at}/part", "unknown_part", f"Unknown part {number!r}."))
        if unit is None:
            refusal = self.unit_refusals[written]
            problems.append(ErrorItem(f"{at}/unit", refusal.code, refusal.detail))
        if part is None or unit is None:
            return problems
        base = part.base_unit.dimension
        if unit.dimension != base and (part.pk, unit.dimension, base) not in self.conversions:
            problems.append(ErrorItem(
                f"{at}/unit", "unit_mismatch",
                f"{unit.code} ({unit.dimension}) does not convert to {part.number}'s base unit "
                f"{part.base_unit.code} ({base})."))
        return problems


def _require_erp(system: ExternalSystem) -> None:
    if system.kind != SystemKind.ERP:
        raise invalid("/system", "not_an_erp", f"{system} is not an ERP; orders come from one.")


def _check_numbers(orders: Sequence[Any]) -> list[ErrorItem]:
    problems, seen = [], set()
    for index, order in enumerate(orders):
        if order.number in seen:
            problems.append(ErrorItem(f"/orders/{index}/number", "duplicate",
                                      f"Order {order.number} is sent twice."))
        seen.add(order.number)
    return problems


def _text_problems(model: type[models.Model], at: str, **values: str) -> list[ErrorItem]:
    problems = []
    for name, value in values.items():
        model_field = model._meta.get_field(name)
        if not value and not model_field.blank:
            problems.append(ErrorItem(f"{at}/{name}", "required", f"{name} is required."))
        elif len(value) > model_field.max_length:
            problems.append(ErrorItem(f"{at}/{name}", "too_long",
                                      f"At most {model_field.max_length} characters."))
    return problems


def _choice_problem(pointer: str, value: str, choices: type[models.TextChoices]
                    ) -> list[ErrorItem]:
    return [] if value in choices.values else [
        ErrorItem(pointer, "invalid_choice", f"One of {', '.join(choices.values)}.")]


def _quantity_problem(pointer: str, quantity: Decimal) -> list[ErrorItem]:
    try:
        parse_quantity(quantity)
    except QuantityProblem as exc:
        return [ErrorItem(pointer, exc.code, exc.detail)]
    return []



def _assign(instance: M, values: dict[str, Any], names: Iterable[str]) -> bool:
    """Set the values that differ; True if any did."""
    changed = False
    for name in names:
        if getattr(instance, name) != values[name]:
            setattr(instance, name, values[name])
            changed = True
    return changed

