"""The work-order plan over plain data (thread.orders.work_orders.plan): requirement quantities
against a reference computed with exact fractions, operations, the produced part, holds."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from thread.catalog.units import PartConversion, Unit
from thread.orders.work_orders.plan import Line, Step, round_requirement, work_order_plan

UNITS = {u.code: u for u in [
    Unit("pcs", "count", Decimal(1)), Unit("m", "length", Decimal(1)),
    Unit("mm", "length", Decimal("0.001")), Unit("in", "length", Decimal("0.0254")),
    Unit("ft", "length", Decimal("0.3048")), Unit("kg", "mass", Decimal(1)),
    Unit("g", "mass", Decimal("0.001")), Unit("lb", "mass", Decimal("0.45359237")),
]}
BY_DIMENSION = {"count": ["pcs"], "length": ["m", "mm", "in", "ft"], "mass": ["kg", "g", "lb"]}


def step(sequence, code, center="ASM-1", plant="BER", **extra):
    return Step(id=sequence, sequence=sequence, code=code, description=code, work_center=center,
                work_center_plant=plant, setup_minutes=extra.pop("setup", Decimal(0)),
                run_minutes=extra.pop("run", Decimal(0)), **extra)


STEPS = [step(10, "KIT"), step(20, "ASSY"), step(30, "PACK")]


def reference(quantity_per: Fraction, order: Fraction, source: Unit, target: Unit) -> Fraction:
    """The requirement computed exactly: settled at 12 places, then up to the unit's step."""
    exact = quantity_per * order * Fraction(source.factor) / Fraction(target.factor)
    settled = Fraction(round(exact * 10**12), 10**12)
    step_size = Fraction(1) if target.dimension == "count" else Fraction(1, 10**6)
    return math.ceil(settled / step_size) * step_size


decimals = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(500), places=4)
scrap = st.sampled_from([None, Decimal(0), Decimal(2), Decimal("3.5"), Decimal(10)])


@st.composite
def lines(draw):
    dimension = draw(st.sampled_from(sorted(BY_DIMENSION)))
    unit = draw(st.sampled_from(BY_DIMENSION[dimension]))
    target = draw(st.sampled_from(BY_DIMENSION[dimension]))
    base = draw(decimals)
    percent = draw(scrap)
    # As the engine writes it: the quantity per unit with the plant's scrap multiplied in.
    per = base * (1 + percent / 100) if percent is not None else base
    operation = draw(st.sampled_from(["", "KIT", "ASSY", "PACK"]))
    return base, percent, Line(id=0, position=0, part="", quantity_per=per, unit=unit,
                               operation=operation), target


@settings(max_examples=200, deadline=None)
@given(st.lists(lines(), min_size=1, max_size=25),
       st.decimals(min_value=Decimal(1), max_value=Decimal(5000), places=2))
def test_requirements_match_the_exact_reference(drawn, order_quantity):
    mbom, issue_units, expected = [], {}, {}
    for index, (base, percent, line, target) in enumerate(drawn, start=1):
        part = f"P-{index}"
        mbom.append(Line(index, index, part, line.quantity_per, line.unit, line.operation))
        issue_units[part] = target
        per = Fraction(base) * (1 + Fraction(percent or 0) / 100)
        expected[part] = (reference(per, Fraction(order_quantity), UNITS[line.unit],
                                    UNITS[target]), target, line.operation or "KIT")
    plan = work_order_plan(plant="BER", part="BK-100", quantity=order_quantity, unit="pcs",
                           steps=STEPS, lines=mbom, units=UNITS, issue_units=issue_units,
                           part_conversions={})
    assert plan.holds == ()
    found = {m.part: (Fraction(m.quantity), m.unit, planned.step.code)
             for planned in plan.operations for m in planned.materials if not m.produced}
    assert found == expected
    # Never silently zero, never below the exact need.
    assert all(q > 0 for q, _, _ in found.values())


def test_the_last_operation_produces_the_part_and_times_scale_with_the_quantity():
    steps = [step(20, "ASSY", setup=Decimal(30), run=Decimal("1.5"), queue_minutes=Decimal(5)),
             step(10, "KIT", run=Decimal(2)), step(30, "PACK", move_minutes=Decimal(20))]
    plan = work_order_plan(plant="BER", part="BK-100", quantity=Decimal(40), unit="pcs",
                           steps=steps, lines=[Line(1, 1, "FR-200", Decimal(1), "pcs", "ASSY")],
                           units=UNITS, issue_units={}, part_conversions={})
    assert [p.step.sequence for p in plan.operations] == [10, 20, 30]
    assert [p.planned_minutes for p in plan.operations] == [Decimal(80), Decimal(95), Decimal(20)]
    kit, assy, pack = plan.operations
    assert kit.materials == ()
    assert [(m.part, m.quantity, m.produced) for m in assy.materials] == [("FR-200", 40, False)]
    assert [(m.part, m.quantity, m.unit, m.produced) for m in pack.materials] == [
        ("BK-100", Decimal(40), "pcs", True)]


def test_reference_only_lines_are_not_issued_and_lines_without_operation_go_first():
    plan = work_order_plan(
        plant="BER", part="BK-100", quantity=Decimal(3), unit="pcs", steps=STEPS,
        lines=[Line(1, 1, "DOC-1", Decimal(1), "pcs", "", "document"),
               Line(2, 2, "PK-150", Decimal("0.125"), "pcs")],
        units=UNITS, issue_units={}, part_conversions={})
    kit = plan.operations[0]
    # 3 x 0.125 = 0.375 pallet labels: a count rounds up to 1, never down to 0.
    assert [(m.part, m.quantity) for m in kit.materials] == [("PK-150", 1)]


def test_part_conversions_across_dimensions():
    plan = work_order_plan(
        plant="BER", part="BK-100", quantity=Decimal(50), unit="pcs", steps=STEPS,
        lines=[Line(1, 1, "CB-412", Decimal("0.45"), "m", "ASSY")], units=UNITS,
        issue_units={"CB-412": "kg"},
        part_conversions={"CB-412": [PartConversion("m", "kg", Decimal("0.045"))]})
    # 50 x 0.45 m = 22.5 m, not 50 x (0.45 rounded up per bike); at 0.045 kg/m = 1.0125 kg.
    assert [(m.quantity, m.unit) for m in plan.operations[1].materials] == [
        (Decimal("1.0125"), "kg")]


def test_holds_name_what_cannot_be_built():
    steps = [step(10, "KIT"), step(20, "ASSY", center="FIN-A", plant="CLT")]
    plan = work_order_plan(
        plant="BER", part="BK-100", quantity=Decimal(1), unit="pcs", steps=steps,
        lines=[Line(1, 5, "FW-1", Decimal(1), "pcs", "0090-FLASH"),
               Line(2, 6, "FW-2", Decimal(1), "pcs", "0090-FLASH"),
               Line(3, 7, "CB-412", Decimal(1), "m", "KIT")],
        units=UNITS, issue_units={"CB-412": "kg"}, part_conversions={})
    codes = [hold.code for hold in plan.holds]
    assert codes == ["foreign_work_center", "unit_not_convertible", "unknown_operation"]
    assert "FIN-A belongs to plant CLT" in plan.holds[0].detail
    assert "'0090-FLASH' (mBOM lines 5, 6)" in plan.holds[2].detail


def test_no_operations_is_a_hold():
    plan = work_order_plan(plant="BER", part="BK-100", quantity=Decimal(1), unit="pcs",
                           steps=[], lines=[], units=UNITS, issue_units={}, part_conversions={})
    assert [h.code for h in plan.holds] == ["no_routing"]


def test_rounding_settles_conversion_noise_before_rounding_up():
    # 7 kg to lb and back through feet-per-pound factors: noise in the 28th digit must not
    # add a micro-unit (or a whole piece).
    there = Decimal(7) * UNITS["lb"].factor / UNITS["ft"].factor
    back = there * UNITS["ft"].factor / UNITS["lb"].factor
    assert back == Decimal("7.000000000000000000000000002")  # the noise is real
    assert round_requirement(back, UNITS["kg"]) == Decimal(7)
    assert round_requirement(back, UNITS["pcs"]) == Decimal(7)
