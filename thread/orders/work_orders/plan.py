"""What a work order asks of the shop floor, as a pure function over plain data: the routing's
operations with their times for the order's quantity and, per operation, the components to
issue (docs/work-orders.md, "How a work order is computed"). No ORM: the build service loads
the rows, calls `work_order_plan` and persists what it returns; the tests and the bench call it
directly.

Quantities:
- An mBOM line's `quantity_per` is per one base unit of the made part and already carries the
  plant's scrap (the scrap rule multiplied it in; the line keeps `scrap_percent` as a record),
  so scrap is applied exactly once: required = quantity per (with scrap) * order quantity. The
  unrounded per-unit quantity is used, so that 50 * 0.45 m is 22.5 m, not 50 * a per-unit
  quantity already rounded up to 1 m.
- The result is converted, exactly (Decimal, the catalog's factors and the part's own
  conversions), to the unit the plant issues the component in (its plant part data's unit,
  else the part's base unit), then rounded as that unit requires: a count up to a whole
  number, any other unit up to `DECIMALS` places. Rounding is always up, so a positive
  requirement never becomes zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal, localcontext

from thread.catalog.units import PartConversion, Unit, UnitMismatch, convert

DECIMALS = 6  # the places a requirement keeps in a unit that is not counted
NOISE = Decimal("1e-12")
COUNT = "count"  # the dimension whose quantities are whole numbers
NOT_ISSUED = frozenset({"document"})  # reference-only lines: nothing to issue


@dataclass(frozen=True, slots=True)
class Step:
    """One routing operation, as the plan needs it."""

    id: int
    sequence: int
    code: str
    description: str
    work_center: str
    work_center_plant: str
    setup_minutes: Decimal
    run_minutes: Decimal  # per base unit of the routed part
    queue_minutes: Decimal | None = None
    move_minutes: Decimal | None = None
    milestone: bool = False
    reports_quantity: bool = False
    instructions: str = ""
    document_reference: str = ""


@dataclass(frozen=True, slots=True)
class Line:
    """One mBOM line, as the plan needs it."""

    id: int
    position: int
    part: str
    quantity_per: Decimal  # unrounded, per base unit of the made part, scrap included
    unit: str
    operation: str = ""
    item_type: str = "component"


@dataclass(frozen=True, slots=True)
class Requirement:
    part: str
    quantity: Decimal
    unit: str
    position: int
    line_id: int | None  # None: the produced part
    produced: bool = False


@dataclass(frozen=True, slots=True)
class PlannedOperation:
    step: Step
    planned_minutes: Decimal
    materials: tuple[Requirement, ...]


@dataclass(frozen=True, slots=True)
class Hold:
    code: str  # a HoldReason value
    detail: str


@dataclass(frozen=True, slots=True)
class Plan:
    operations: tuple[PlannedOperation, ...]
    holds: tuple[Hold, ...]


def round_requirement(quantity: Decimal, unit: Unit) -> Decimal:
    """Up to a whole number for a counted unit, else up to DECIMALS places. A conversion whose
    exact result does not end (1 kg in lb) carries noise in its 28th digit; it is settled at
    NOISE places first, so that the noise never rounds a requirement up by a whole unit."""
    places = Decimal(1) if unit.dimension == COUNT else Decimal(1).scaleb(-DECIMALS)
    with localcontext() as context:
        context.prec = 60
        settled = quantity.quantize(NOISE, rounding=ROUND_HALF_EVEN)
        rounded = settled.quantize(places, rounding=ROUND_CEILING)
    # Without trailing zeros, and never in exponent form (10, not 1E+1).
    return rounded.quantize(Decimal(1)) if rounded == rounded.to_integral_value() \
        else rounded.normalize()


def planned_minutes(step: Step, quantity: Decimal) -> Decimal:
    return (step.setup_minutes + step.run_minutes * quantity + (step.queue_minutes or 0)
            + (step.move_minutes or 0))


def work_order_plan(*, plant: str, part: str, quantity: Decimal, unit: str,
                    steps: Sequence[Step], lines: Sequence[Line], units: Mapping[str, Unit],
                    issue_units: Mapping[str, str],
                    part_conversions: Mapping[str, Sequence[PartConversion]]) -> Plan:
    """The operations and material requirements of making `quantity` (in the part's base unit
    `unit`) of `part` at `plant` by `steps`, from the mBOM `lines`. `issue_units` maps a
    component to the unit the plant issues it in (absent: the line's part base unit must be
    given there too — the caller passes every component). Whatever prevents a correct work
    order is returned as holds, never raised: the order is accepted and held."""
    holds: list[Hold] = []
    ordered = sorted(steps, key=lambda s: s.sequence)
    if not ordered:
        return Plan((), (Hold("no_routing", f"The routing of {part} at {plant} has no "
                                            f"operations."),))
    foreign = [s for s in ordered if s.work_center_plant != plant]
    for step in foreign:
        holds.append(Hold("foreign_work_center",
                          f"Operation {step.sequence} {step.code}: work center {step.work_center}"
                          f" belongs to plant {step.work_center_plant}, not {plant}."))
    by_code = {s.code: s for s in ordered}
    issued: dict[int, list[Requirement]] = {s.sequence: [] for s in ordered}
    unknown: dict[str, list[int]] = {}
    for line in sorted(lines, key=lambda li: li.position):
        if line.item_type in NOT_ISSUED:
            continue
        step = by_code.get(line.operation) if line.operation else ordered[0]
        if step is None:
            unknown.setdefault(line.operation, []).append(line.position)
            continue
        target = issue_units.get(line.part, line.unit)
        try:
            required = convert(line.quantity_per * quantity, line.unit, target, units,
                               part_conversions.get(line.part, ()))
        except UnitMismatch as error:
            holds.append(Hold("unit_not_convertible",
                              f"mBOM line {line.position} ({line.part}): {error}."))
            continue
        issued[step.sequence].append(Requirement(
            line.part, round_requirement(required, units[target]), target, line.position,
            line.id))
    for code, positions in sorted(unknown.items()):
        holds.append(Hold("unknown_operation",
                          f"Operation {code!r} (mBOM lines {_positions(positions)}) is not in "
                          f"the routing of {part} at {plant} (it has "
                          f"{', '.join(s.code for s in ordered)})."))
    last = ordered[-1].sequence
    produced = Requirement(part, quantity, unit, 0, None, produced=True)
    operations = tuple(
        PlannedOperation(step, planned_minutes(step, quantity),
                         (*issued[step.sequence], produced) if step.sequence == last
                         else tuple(issued[step.sequence]))
        for step in ordered)
    return Plan(operations, tuple(holds))


def _positions(positions: list[int], shown: int = 5) -> str:
    text = ", ".join(str(p) for p in positions[:shown])
    return text + (f" and {len(positions) - shown} more" if len(positions) > shown else "")
