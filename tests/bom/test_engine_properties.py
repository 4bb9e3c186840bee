"""Properties of map_ebom over random eBOMs and rule sets (hypothesis).

The eBOMs have up to six assemblies (made or bought, used as components or phantoms, some under
several parents, some measured in m) and leaves in pcs, m (lines in m, mm, or kg through a part
conversion) and kg (lines in kg or g), documents and software. Quantities are exact decimals
and every unit factor is a power of ten or a half, so every total below is compared with ==.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal as D
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thread.bom.engine import (
    EBom,
    EBomLine,
    KnownPart,
    MappingResult,
    MBomLine,
    PlantContext,
    PlantPartData,
    Rule,
    check_accountability,
    consolidate_lines,
    explode,
    map_ebom,
)
from thread.catalog.units import PartConversion, convert

from .test_engine_support import UNITS, eq

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

QUANTITIES = [D(1), D(2), D(3), D("0.5"), D("1.25"), D(10), D("0.125"), D(250)]
# Base unit -> units its lines may use ("kg" for an m part goes through the part conversion).
LINE_UNITS = {"pcs": ["pcs"], "m": ["m", "mm", "kg"], "kg": ["kg", "g"]}
SAME_DIMENSION = {"pcs": ["pcs"], "m": ["m", "mm"], "kg": ["kg", "g"]}
LENGTH_TO_MASS = (PartConversion("m", "kg", D("0.5")),)
SUBSTITUTE_FACTORS = [D(1), D(2), D("0.5")]
EXCLUDED_TYPES = ("document", "software")


@dataclass(frozen=True)
class Case:
    """A random eBOM with everything needed to map it and to compute what must come out."""

    ebom: EBom
    base_units: Mapping[str, str]
    defaults: Mapping[str, str]  # part -> make/buy default
    conversions: Mapping[str, tuple[PartConversion, ...]]


@dataclass(frozen=True)
class Plan:
    """Quantity-preserving rules, as data the test can also evaluate on its own."""

    exclude: bool
    flatten: frozenset[str]
    make_or_buy: Mapping[str, str]
    substitutes: Mapping[str, D]  # replaced part -> factor; the substitute is "ALT-" + part
    target_units: Mapping[str, str]  # part -> unit a convert_unit rule converts it to
    plant: Mapping[str, PlantPartData]
    consolidate: bool
    annotate: bool


@st.composite
def cases(draw: st.DrawFn) -> Case:
    n_assemblies = draw(st.integers(1, 6))
    n_leaves = draw(st.integers(1, 6))
    assemblies = ["TOP"] + [f"A{i}" for i in range(1, n_assemblies)]
    leaves = [f"L{i}" for i in range(n_leaves)]
    # Some subassemblies are measured in m (a harness): their children are per metre.
    base_units = {"TOP": "pcs"}
    for part in assemblies[1:]:
        base_units[part] = draw(st.sampled_from(["pcs", "pcs", "m"]))
    for leaf in leaves:
        base_units[leaf] = draw(st.sampled_from(sorted(LINE_UNITS)))
    defaults = {part: draw(st.sampled_from(["make", "make", "buy"])) for part in base_units}
    categories = {part: draw(st.sampled_from(["frame", "fastener", "cable"]))
                  for part in base_units}
    conversions = {part: LENGTH_TO_MASS for part, unit in base_units.items() if unit == "m"}
    children: dict[str, list[str]] = {part: [] for part in assemblies}
    for index, parent in enumerate(assemblies):
        later = assemblies[index + 1:]
        for _ in range(draw(st.integers(1, 4))):
            children[parent].append(draw(st.sampled_from(leaves + later)))
    for index, part in enumerate(assemblies[1:], start=1):  # every assembly is reachable
        if not any(part in children[parent] for parent in assemblies[:index]):
            children[draw(st.sampled_from(assemblies[:index]))].append(part)
    next_id = iter(range(1, 1000))
    lines: dict[str, list[EBomLine]] = {}
    for parent, parts in children.items():
        for position, part in enumerate(parts):
            unit = draw(st.sampled_from(LINE_UNITS[base_units[part]]))
            if part in leaves:
                item_type = draw(st.sampled_from(
                    ["component", "component", "document", "software", "bulk", "phantom"]))
            else:
                item_type = draw(st.sampled_from(["component", "component", "phantom",
                                                  "document"]))
            lines.setdefault(parent, []).append(EBomLine(
                id=next(next_id), parent_part=parent, find_number=(position + 1) * 10,
                part=part, quantity=draw(st.sampled_from(QUANTITIES)), unit=unit,
                part_base_unit=base_units[part], item_type=item_type,
                part_category=categories[part], part_make_or_buy=defaults[part],
                reference_designators=(f"R{position}",)))
    return Case(EBom(root_part="TOP", root_base_unit="pcs", lines_by_parent=lines),
                base_units, defaults, conversions)


@st.composite
def plans(draw: st.DrawFn, case: Case) -> Plan:
    parts = sorted(case.base_units)
    leaves = [part for part in parts if part.startswith("L")]
    subset = st.lists(st.sampled_from(parts), unique=True)
    leaf_subset = st.lists(st.sampled_from(leaves), unique=True)
    make_or_buy = {part: draw(st.sampled_from(["make", "buy"])) for part in draw(subset)}
    substitutes = {part: draw(st.sampled_from(SUBSTITUTE_FACTORS)) for part in draw(leaf_subset)}
    target_units = {part: draw(st.sampled_from(SAME_DIMENSION[case.base_units[part]]))
                    for part in draw(leaf_subset)}
    plant = {part: PlantPartData(make_or_buy=draw(st.sampled_from(["", "make", "buy"])))
             for part in draw(subset)}
    return Plan(exclude=draw(st.booleans()), flatten=frozenset(draw(subset)),
                make_or_buy=make_or_buy, substitutes=substitutes, target_units=target_units,
                plant=plant, consolidate=draw(st.booleans()), annotate=draw(st.booleans()))


def rules_of(plan: Plan, order: Callable[[int], int] = lambda rule_id: rule_id) -> list[Rule]:
    specs: list[tuple[str, Any, dict[str, Any]]] = []
    if plan.exclude:
        specs.append(("exclude", {"field": "item_type", "op": "in",
                                  "value": list(EXCLUDED_TYPES)}, {}))
    if plan.flatten:
        specs.append(("flatten", {"field": "part", "op": "in", "value": sorted(plan.flatten)},
                      {}))
    for part, value in sorted(plan.make_or_buy.items()):
        specs.append(("set_make_buy", eq("part", part), {"make_or_buy": value}))
    for part, factor in sorted(plan.substitutes.items()):
        specs.append(("substitute", eq("part", part), {"part": f"ALT-{part}", "factor": factor}))
    for part, unit in sorted(plan.target_units.items()):
        specs.append(("convert_unit", eq("part", part), {"unit": unit}))
    if plan.consolidate:
        specs.append(("consolidate", {"all": []}, {}))
    if plan.annotate:
        specs.append(("assign_operation", eq("category", "fastener"), {"operation": "0010"}))
        specs.append(("set_erp_fields", {"field": "level", "op": "ge", "value": 2},
                      {"backflush": True}))
    return [Rule(id=rule_id, order=order(rule_id), name=f"rule {rule_id}", action=action,
                 condition=condition, params=params)
            for rule_id, (action, condition, params) in enumerate(specs, start=1)]


def context_of(case: Case, plan: Plan) -> PlantContext:
    known = {f"ALT-{part}": KnownPart(base_unit=case.base_units[part]) for part in case.base_units}
    known.update({"LBL": KnownPart(base_unit="pcs"), "GLU": KnownPart(base_unit="kg")})
    return PlantContext(plant="P1", units=UNITS, plant_parts=plan.plant, known_parts=known,
                        part_conversions=case.conversions)


def expected_totals(case: Case, plan: Plan) -> dict[str, D]:
    """The eBOM explosion, told independently of the engine which lines the plan excludes and
    which it buys (a flattened line is never bought)."""

    def is_excluded(line: EBomLine) -> bool:
        return plan.exclude and line.item_type in EXCLUDED_TYPES

    def is_bought(line: EBomLine) -> bool:
        if line.item_type == "phantom" or line.part in plan.flatten:
            return False
        plant = plan.plant.get(line.part)
        resolved = (plan.make_or_buy.get(line.part) or (plant.make_or_buy if plant else "")
                    or case.defaults[line.part])
        return resolved == "buy"

    return explode(case.ebom, UNITS, case.conversions, is_bought=is_bought,
                   is_excluded=is_excluded)


def mbom_totals(case: Case, plan: Plan, result: MappingResult) -> dict[str, D]:
    """The mBOMs multiplied up through their made assemblies, in base units, with each
    substitute counted as the part it replaces."""
    totals: dict[str, D] = {}

    def walk(assembly: str, per_top: D) -> None:
        for item in result.mboms[assembly].lines:
            part, quantity = item.part, item.quantity * per_top
            if item.substitutes_for is not None:
                part = item.substitutes_for
                quantity = quantity / plan.substitutes[part]
            in_base = convert(quantity, item.unit, case.base_units[part], UNITS,
                              case.conversions.get(part, ()))
            if item.make_or_buy == "make" and part in result.mboms:
                walk(part, in_base)
            else:
                totals[part] = totals.get(part, D(0)) + in_base

    walk("TOP", D(1))
    return totals


@SETTINGS
@given(st.data())
def test_terminal_totals_match_the_ebom_explosion(data: st.DataObject) -> None:
    """With no scrap, rounding or added items, every terminal item (leaf part or bought
    subassembly) totals the same per top-level unit, in its base unit, in the eBOM explosion
    (excluded lines removed) as in the mBOMs multiplied up (substitutes mapped back)."""
    case = data.draw(cases())
    plan = data.draw(plans(case))
    result = map_ebom(case.ebom, rules_of(plan), context_of(case, plan))
    assert mbom_totals(case, plan, result) == expected_totals(case, plan)


def _everything(case: Case, plan: Plan, draw: st.DrawFn) -> list[Rule]:
    """The plan's rules plus scrap, rounding, and added items."""
    rules = rules_of(plan)
    more: list[tuple[str, Any, dict[str, Any]]] = [
        ("scrap", eq("category", "cable"), {"scrap_percent": draw(st.sampled_from([0, 5, 12.5]))}),
        ("scrap", eq("unit", "g"), {"yield_percent": draw(st.sampled_from([100, 95, 80]))}),
        ("convert_unit", eq("category", "frame"), {"to_plant_unit": True,
                                                   "round_up_to_multiple": "0.5"}),
        ("convert_unit", eq("unit", "mm"), {"unit": "m", "decimals": 1}),
        ("add_item", {"field": "level", "op": "eq", "value": 0},
         {"part": "LBL", "quantity": 1, "unit": "pcs"}),
        ("add_item", eq("category", "frame"), {"part": "GLU", "quantity": 5, "unit": "g"}),
    ]
    chosen = draw(st.lists(st.sampled_from(more), unique_by=lambda spec: id(spec)))
    return rules + [Rule(id=100 + index, order=draw(st.integers(0, 30)), name="more",
                         action=action, condition=condition, params=params)
                    for index, (action, condition, params) in enumerate(chosen)]


@SETTINGS
@given(st.data())
def test_every_occurrence_is_accounted_for_exactly_once(data: st.DataObject) -> None:
    """Whatever the rules (all kinds), check_accountability finds nothing: each occurrence of
    each eBOM line is fed, flattened, excluded by a rule, or inside a bought subassembly, once;
    and every line of the eBOM has at least one disposition."""
    case = data.draw(cases())
    plan = data.draw(plans(case))
    result = map_ebom(case.ebom, _everything(case, plan, data.draw), context_of(case, plan))
    assert check_accountability(case.ebom, result) == []
    every_line = {item.id for items in case.ebom.lines_by_parent.values() for item in items}
    assert set(result.dispositions()) == every_line


def _shuffled(ebom: EBom, rng: random.Random) -> EBom:
    parents = list(ebom.lines_by_parent.items())
    rng.shuffle(parents)
    return replace(ebom, lines_by_parent={parent: rng.sample(list(lines), len(lines))
                                          for parent, lines in parents})


@SETTINGS
@given(st.data(), st.randoms(use_true_random=False))
def test_the_result_is_deterministic(data: st.DataObject, rng: random.Random) -> None:
    """Mapping again, with the rules listed in another order (same `order` values, ties
    included) and the eBOM's lines and parents in another order, gives an identical result,
    down to each Decimal's exponent."""
    case = data.draw(cases())
    plan = data.draw(plans(case))
    orders = {rule.id: data.draw(st.integers(0, 3)) for rule in _everything(case, plan,
                                                                          data.draw)}
    rules = [replace(rule, order=orders.get(rule.id, rule.order))
             for rule in _everything(case, plan, data.draw)]
    context = context_of(case, plan)
    first = map_ebom(case.ebom, rules, context)
    again = map_ebom(_shuffled(case.ebom, rng), rng.sample(rules, len(rules)), context)
    assert again == first
    assert repr(again) == repr(first)


def _without_rule_ids(lines: Sequence[MBomLine]) -> list[MBomLine]:
    return [item._replace(lineage=item.lineage._replace(rule_ids=())) for item in lines]


@SETTINGS
@given(st.data())
def test_consolidation_is_idempotent_and_equals_merging_afterwards(data: st.DataObject) -> None:
    """Consolidating twice changes nothing; an mBOM mapped with consolidate-all needs no
    further merging; and it equals the unconsolidated mBOM merged afterwards (rounding the
    sums), but for the consolidate rule in the lineage."""
    case = data.draw(cases())
    plan = replace(data.draw(plans(case)), consolidate=False)
    rules = _everything(case, plan, data.draw)
    context = context_of(case, plan)
    merge_all = Rule(id=999, order=data.draw(st.integers(0, 40)), name="merge",
                     action="consolidate", condition={"all": []})
    separate = map_ebom(case.ebom, rules, context)
    merged = map_ebom(case.ebom, [*rules, merge_all], context)
    assert list(merged.mboms) == list(separate.mboms)
    for part, mbom in merged.mboms.items():
        once = consolidate_lines(separate.mboms[part].lines)
        assert consolidate_lines(once) == once
        assert consolidate_lines(mbom.lines) == mbom.lines
        assert _without_rule_ids(mbom.lines) == _without_rule_ids(once)


@SETTINGS
@given(st.data())
def test_scrap_and_rounding_only_raise_quantities(data: st.DataObject) -> None:
    """Adding scrap and rounding to the same rules changes no line's part, unit or place;
    scrap multiplies the exact quantity by (1 + scrap/100) or 100/yield; rounding up to a
    multiple lands on a multiple less than one step above; decimals "up" lands less than one
    last place above; "half_up" within half a last place. Only half_up may lower a quantity."""
    case = data.draw(cases())
    plan = replace(data.draw(plans(case)), consolidate=False)
    base = rules_of(plan)
    rounding = data.draw(st.sampled_from([
        {"round_up_to_multiple": "0.5"}, {"round_up_to_multiple": 3}, {"decimals": 1},
        {"decimals": 0, "rounding": "half_up"}, {"decimals": 2, "rounding": "half_up"}]))
    scrap = data.draw(st.sampled_from([{"scrap_percent": 7}, {"yield_percent": 90},
                                       {"scrap_percent": "0.5"}]))
    scrapped = data.draw(st.sampled_from(["frame", "fastener", "cable"]))
    rounded = data.draw(st.sampled_from(["frame", "fastener", "cable"]))
    plain = [*base, Rule(id=50, order=50, name="to base", action="convert_unit",
                         condition=eq("category", rounded), params={"to_plant_unit": True})]
    raised = [*base,
              Rule(id=50, order=50, name="round", action="convert_unit",
                   condition=eq("category", rounded), params={"to_plant_unit": True, **rounding}),
              Rule(id=51, order=51, name="scrap", action="scrap",
                   condition=eq("category", scrapped), params=scrap)]
    context = context_of(case, plan)
    before = map_ebom(case.ebom, plain, context)
    after = map_ebom(case.ebom, raised, context)
    assert list(after.mboms) == list(before.mboms)
    factor = (1 + D(str(scrap["scrap_percent"])) / 100 if "scrap_percent" in scrap
              else D(100) / D(scrap["yield_percent"]))
    for part, mbom in after.mboms.items():
        assert len(mbom.lines) == len(before.mboms[part].lines)
        for old, new in zip(before.mboms[part].lines, mbom.lines, strict=True):
            assert (new.position, new.part, new.unit) == (old.position, old.part, old.unit)
            scrapped_line = new.scrap_percent is not None or new.yield_percent is not None
            assert new.unrounded_quantity == (old.quantity * factor if scrapped_line
                                              else old.quantity)
            assert new.unrounded_quantity >= old.quantity
            if new.rounding is None:
                assert new.quantity == new.unrounded_quantity
                continue
            exact, got = new.unrounded_quantity, new.quantity
            if new.rounding.multiple is not None:
                assert got % new.rounding.multiple == 0
                assert exact <= got < exact + new.rounding.multiple
            else:
                place = D(1).scaleb(-(new.rounding.decimals or 0))
                if new.rounding.mode == "up":
                    assert exact <= got < exact + place
                else:
                    assert abs(got - exact) <= place / 2
            if new.rounding.mode == "up" or new.rounding.multiple is not None:
                assert got >= old.quantity
