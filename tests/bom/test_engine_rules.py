"""Rule validation: every action's parameters, catalog references, and the compiled rule set."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from thread.bom.engine import (
    KnownPart,
    Rounding,
    RuleError,
    RuleSetError,
    compile_rules,
    map_ebom,
    validate_rule,
    validate_rules,
)
from thread.bom.engine.rules import ConvertUnit, Scrap, SetErpFields, Substitute
from thread.catalog.units import PartConversion

from .test_engine_support import context, ebom, eq, line, rule

EVERY_LINE = {"all": []}
CATALOG = context(
    known_parts={"ALT-1": KnownPart(base_unit="pcs"), "CAB-9": KnownPart(base_unit="m"),
                 "WIRE": KnownPart(base_unit="kg")},
    part_conversions={"WIRE": (PartConversion("m", "kg", Decimal("0.02")),)},
)


def faults(action: str, params: Any, condition: Any = EVERY_LINE,
           with_catalog: bool = False) -> list[tuple[str, str]]:
    errors = validate_rule(action, params, condition, CATALOG if with_catalog else None)
    return [(error.pointer, error.message) for error in errors]


@pytest.mark.parametrize(("action", "params"), [
    ("exclude", {}),
    ("flatten", {}),
    ("consolidate", {}),
    ("set_make_buy", {"make_or_buy": "buy"}),
    ("set_make_buy", {"make_or_buy": "make"}),
    ("substitute", {"part": "ALT-1"}),
    ("substitute", {"part": "ALT-1", "factor": "0.5"}),
    ("convert_unit", {"unit": "m"}),
    ("convert_unit", {"to_plant_unit": True, "round_up_to_multiple": 0.5}),
    ("convert_unit", {"unit": "kg", "decimals": 3}),
    ("convert_unit", {"unit": "kg", "decimals": 0, "rounding": "half_up"}),
    ("scrap", {"scrap_percent": 5}),
    ("scrap", {"scrap_percent": 0}),
    ("scrap", {"yield_percent": 100}),
    ("assign_operation", {"operation": "0010"}),
    ("add_item", {"part": "CAB-9", "quantity": 2, "unit": "mm"}),
    ("add_item", {"part": "WIRE", "quantity": "1.5", "unit": "m", "item_type": "bulk"}),
    ("set_erp_fields", {"backflush": False}),
    ("set_erp_fields", {"item_category": "L", "supply_area": "PSA1", "backflush": True}),
])
def test_valid_rules_have_no_faults(action: str, params: dict[str, Any]) -> None:
    assert faults(action, params, with_catalog=True) == []


@pytest.mark.parametrize(("action", "params", "expected"), [
    ("explode", {}, [("/action", "unknown action 'explode'; actions are exclude, flatten, "
                                 "set_make_buy, substitute, convert_unit, scrap, "
                                 "assign_operation, add_item, consolidate, set_erp_fields")]),
    ("exclude", [], [("/params", "params must be a JSON object")]),
    ("exclude", {"reason": "docs"}, [("/params/reason", "unknown parameter 'reason'")]),
    ("set_make_buy", {}, [("/params/make_or_buy", "make_or_buy is missing")]),
    ("set_make_buy", {"make_or_buy": "borrow"},
     [("/params/make_or_buy", "make_or_buy must be one of make, buy, not 'borrow'")]),
    ("set_make_buy", {"make_or_buy": " "},
     [("/params/make_or_buy", "make_or_buy must be non-empty text")]),
    ("substitute", {}, [("/params/part", "part is missing")]),
    ("substitute", {"part": "ALT-1", "factor": -2},
     [("/params/factor", "factor must be greater than 0, got -2")]),
    ("substitute", {"part": "ALT-1", "factor": 0},
     [("/params/factor", "factor must be greater than 0, got 0")]),
    ("substitute", {"part": "ALT-1", "factor": "two"},
     [("/params/factor", "factor must be a number")]),
    ("substitute", {"part": "ALT-1", "factor": True},
     [("/params/factor", "factor must be a number")]),
    ("convert_unit", {}, [("/params", "give exactly one of unit, to_plant_unit")]),
    ("convert_unit", {"unit": "m", "to_plant_unit": True},
     [("/params", "give exactly one of unit, to_plant_unit, not unit and to_plant_unit")]),
    ("convert_unit", {"to_plant_unit": False},
     [("/params/to_plant_unit", "to_plant_unit must be true (or give unit instead)")]),
    ("convert_unit", {"unit": "m", "round_up_to_multiple": 0},
     [("/params/round_up_to_multiple", "round_up_to_multiple must be greater than 0, got 0")]),
    ("convert_unit", {"unit": "m", "round_up_to_multiple": 5, "decimals": 2},
     [("/params/round_up_to_multiple", "round_up_to_multiple always rounds up; do not combine "
                                       "it with decimals or rounding")]),
    ("convert_unit", {"unit": "m", "decimals": 1.5},
     [("/params/decimals", "decimals must be a whole number")]),
    ("convert_unit", {"unit": "m", "decimals": 16},
     [("/params/decimals", "decimals must not be more than 15, got 16")]),
    ("convert_unit", {"unit": "m", "decimals": -1},
     [("/params/decimals", "decimals must not be less than 0, got -1")]),
    ("convert_unit", {"unit": "m", "rounding": "up"},
     [("/params/decimals", "decimals is missing")]),
    ("convert_unit", {"unit": "m", "decimals": 2, "rounding": "down"},
     [("/params/rounding", "rounding must be one of up, half_up, not 'down'")]),
    ("scrap", {}, [("/params", "give exactly one of scrap_percent, yield_percent")]),
    ("scrap", {"scrap_percent": 5, "yield_percent": 95},
     [("/params", "give exactly one of scrap_percent, yield_percent, not scrap_percent and "
                  "yield_percent")]),
    ("scrap", {"scrap_percent": -1},
     [("/params/scrap_percent", "scrap_percent must not be less than 0, got -1")]),
    ("scrap", {"yield_percent": 0},
     [("/params/yield_percent", "yield_percent must be greater than 0, got 0")]),
    ("scrap", {"yield_percent": 101},
     [("/params/yield_percent", "yield_percent must not be more than 100, got 101")]),
    ("assign_operation", {}, [("/params/operation", "operation is missing")]),
    ("assign_operation", {"operation": 10},
     [("/params/operation", "operation must be non-empty text")]),
    ("assign_operation", {"operation": "x" * 41},
     [("/params/operation", "operation is longer than 40 characters")]),
    ("add_item", {}, [("/params/part", "part is missing"),
                      ("/params/quantity", "quantity is missing"),
                      ("/params/unit", "unit is missing")]),
    ("add_item", {"part": "CAB-9", "quantity": 0, "unit": "m"},
     [("/params/quantity", "quantity must be greater than 0, got 0")]),
    ("add_item", {"part": "CAB-9", "quantity": 1, "unit": "m", "item_type": "phantom"},
     [("/params/item_type", "item_type must be one of component, bulk, not 'phantom'")]),
    ("set_erp_fields", {}, [("/params", "set at least one of item_category, supply_area, "
                                        "backflush")]),
    ("set_erp_fields", {"backflush": "yes"},
     [("/params/backflush", "backflush must be true or false")]),
    ("set_erp_fields", {"supply_area": ""},
     [("/params/supply_area", "supply_area must be non-empty text")]),
    ("set_erp_fields", {"colour": "red"}, [("/params/colour", "unknown parameter 'colour'")]),
])
def test_shape_faults(action: str, params: Any, expected: list[tuple[str, str]]) -> None:
    assert faults(action, params) == expected


@pytest.mark.parametrize(("action", "params", "expected"), [
    ("substitute", {"part": "NOPE"},
     [("/params/part", "substitute part 'NOPE' does not exist")]),
    ("convert_unit", {"unit": "inch"}, [("/params/unit", "unknown unit 'inch'")]),
    ("add_item", {"part": "NOPE", "quantity": 1, "unit": "pcs"},
     [("/params/part", "part 'NOPE' does not exist")]),
    ("add_item", {"part": "ALT-1", "quantity": 1, "unit": "inch"},
     [("/params/unit", "unknown unit 'inch'")]),
    ("add_item", {"part": "CAB-9", "quantity": 1, "unit": "kg"},
     [("/params/unit", "kg cannot measure part CAB-9 (base unit m, no conversion)")]),
])
def test_catalog_faults(action: str, params: dict[str, Any],
                        expected: list[tuple[str, str]]) -> None:
    assert faults(action, params) == []  # the shape is fine
    assert faults(action, params, with_catalog=True) == expected


def test_a_part_conversion_lets_a_unit_measure_the_part() -> None:
    assert faults("add_item", {"part": "WIRE", "quantity": 3, "unit": "mm"},
                  with_catalog=True) == []


def test_condition_faults_point_into_the_condition() -> None:
    assert faults("exclude", {}, {"all": [eq("part", "A"), {"field": "x", "op": "eq",
                                                            "value": 1}]}) == [
        ("/condition/all/1/field", "unknown field 'x'; fields are category, item_type, level, "
                                   "parent.category, parent.part, part, quantity, unit, "
                                   "attributes.<name>")]
    assert faults("nope", {}, {"any": []}) == [
        ("/action", "unknown action 'nope'; actions are exclude, flatten, set_make_buy, "
                    "substitute, convert_unit, scrap, assign_operation, add_item, consolidate, "
                    "set_erp_fields"),
        ("/condition/any", "any with no conditions never matches")]


def test_validate_rules_checks_enabled_rules_and_names_them() -> None:
    rules = [rule(1, "exclude", eq("item_type", "document")),
             rule(2, "scrap"),
             rule(1, "flatten"),
             rule(3, "substitute", part="NOPE"),
             replace(rule(4, "scrap", scrap_percent=-1), enabled=False)]
    errors = validate_rules(rules, CATALOG)
    assert errors == [
        RuleError("/params", "give exactly one of scrap_percent, yield_percent", 2),
        RuleError("/id", "rule id 1 is used twice", 1),
        RuleError("/params/part", "substitute part 'NOPE' does not exist", 3),
    ]
    assert str(errors[0]) == "rule 2 /params: give exactly one of scrap_percent, yield_percent"


def test_compile_rules_raises_every_shape_fault_at_once() -> None:
    with pytest.raises(RuleSetError) as caught:
        compile_rules([rule(1, "scrap"), rule(2, "flatten", {"any": []}),
                       rule(3, "substitute", part="NOPE")])
    assert caught.value.errors == (
        RuleError("/params", "give exactly one of scrap_percent, yield_percent", 1),
        RuleError("/condition/any", "any with no conditions never matches", 2),
    )


def test_map_ebom_refuses_rules_naming_what_the_catalog_lacks() -> None:
    with pytest.raises(RuleSetError) as caught:
        map_ebom(ebom([line(1, "TOP", 10, "A")]),
                 [rule(1, "substitute", part="NOPE"),
                  rule(2, "add_item", part="ALT-1", quantity=1, unit="m")], CATALOG)
    assert caught.value.errors == (
        RuleError("/params/part", "substitute part 'NOPE' does not exist", 1),
        RuleError("/params/unit", "m cannot measure part ALT-1 (base unit pcs, no conversion)",
                  2),
    )


def test_compiled_rules_run_by_order_then_id_and_parse_params() -> None:
    rule_set = compile_rules([
        rule(5, "scrap", order=10, yield_percent=80),
        rule(2, "scrap", order=10, scrap_percent="2.5"),
        rule(1, "convert_unit", order=30, unit="m", round_up_to_multiple="0.25"),
        rule(3, "convert_unit", order=20, to_plant_unit=True, decimals=2),
        rule(4, "substitute", order=5, part="ALT-1"),
        rule(6, "set_erp_fields", order=1, backflush=True, supply_area="A1"),
        rule(7, "add_item", order=0, part="ALT-1", quantity=1, unit="pcs"),
    ])
    assert [(r.rule_id, r.spec) for r in rule_set.rules] == [
        (6, SetErpFields({"supply_area": "A1", "backflush": True})),
        (4, Substitute("ALT-1", Decimal(1))),
        (2, Scrap(Decimal("2.5"), None, Decimal("1.025"))),
        (5, Scrap(None, Decimal(80), Decimal("1.25"))),
        (3, ConvertUnit(None, Rounding(decimals=2, mode="up"))),
        (1, ConvertUnit("m", Rounding(multiple=Decimal("0.25")))),
    ]
    assert [r.rule_id for r in rule_set.assembly_rules] == [7]
