"""Conditions: every field and operator, the index pins, and every fault with its pointer."""

from __future__ import annotations

from typing import Any

import pytest

from thread.bom.engine import RuleError, compile_condition

from .test_engine_support import line

CABLE = line(7, "HARNESS", 10, "CAB-100", "250", "mm", part_category="cable",
             item_type="bulk",
             attributes={"material": "copper", "gauge": "1.5", "length_mm": 250,
                         "shielded": True, "note": None})


def holds(tree: Any, item: Any = CABLE, level: int = 2, parent_category: str = "harness") -> bool:
    return compile_condition(tree)(item, level, parent_category)


def leaf(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


@pytest.mark.parametrize(("field", "value"), [
    ("part", "CAB-100"), ("category", "cable"), ("item_type", "bulk"), ("unit", "mm"),
    ("parent.part", "HARNESS"), ("parent.category", "harness"),
])
def test_text_fields_eq_ne_in(field: str, value: str) -> None:
    assert holds(leaf(field, "eq", value)) is True
    assert holds(leaf(field, "eq", value + "x")) is False
    assert holds(leaf(field, "ne", value)) is False
    assert holds(leaf(field, "ne", value + "x")) is True
    assert holds(leaf(field, "in", ["other", value])) is True
    assert holds(leaf(field, "in", ["other"])) is False


def test_glob_matches_the_whole_text_case_sensitively() -> None:
    assert holds(leaf("part", "glob", "CAB-*")) is True
    assert holds(leaf("part", "glob", "CAB-1?0")) is True
    assert holds(leaf("part", "glob", "CAB-[0-9]00")) is True
    assert holds(leaf("part", "glob", "CAB")) is False  # whole text, not a prefix
    assert holds(leaf("part", "glob", "cab-*")) is False
    assert holds(leaf("parent.category", "glob", "harn*")) is True


def test_regex_searches_anywhere_unless_anchored() -> None:
    assert holds(leaf("part", "regex", r"-1\d\d")) is True
    assert holds(leaf("part", "regex", r"^-1")) is False
    assert holds(leaf("part", "regex", r"^CAB-\d+$")) is True
    assert holds(leaf("category", "regex", "^wire$")) is False


@pytest.mark.parametrize(("op", "value", "expected"), [
    ("eq", 2, True), ("eq", 3, False), ("ne", 3, True), ("lt", 3, True), ("lt", 2, False),
    ("le", 2, True), ("le", 1, False), ("gt", 1, True), ("gt", 2, False), ("ge", 2, True),
    ("ge", 3, False), ("in", [1, 2], True), ("in", [3], False),
])
def test_level(op: str, value: Any, expected: bool) -> None:
    assert holds(leaf("level", op, value), level=2) is expected


@pytest.mark.parametrize(("op", "value", "expected"), [
    ("eq", 250, True), ("eq", "250.000", True), ("eq", 249.5, False), ("ne", 250, False),
    ("lt", 250.5, True), ("lt", 250, False), ("le", 250, True), ("gt", 249.99, True),
    ("gt", 250, False), ("ge", 250, True), ("ge", 251, False), ("in", [1, 250], True),
])
def test_quantity_compares_numerically(op: str, value: Any, expected: bool) -> None:
    assert holds(leaf("quantity", op, value)) is expected


@pytest.mark.parametrize(("tree", "expected"), [
    (leaf("attributes.material", "eq", "copper"), True),
    (leaf("attributes.material", "eq", "Copper"), False),
    (leaf("attributes.material", "ne", "steel"), True),
    (leaf("attributes.missing", "ne", "steel"), True),
    (leaf("attributes.missing", "eq", "steel"), False),
    (leaf("attributes.shielded", "eq", True), True),
    (leaf("attributes.shielded", "eq", False), False),
    (leaf("attributes.shielded", "ne", False), True),
    (leaf("attributes.missing", "eq", False), False),  # missing is not false
    (leaf("attributes.gauge", "eq", 1.5), True),  # numeric text equals the number
    (leaf("attributes.gauge", "eq", "1.50"), False),  # text compares exactly
    (leaf("attributes.length_mm", "eq", "250"), False),  # a number is not text
    (leaf("attributes.length_mm", "eq", 250.0), True),
    (leaf("attributes.material", "in", ["steel", "copper"]), True),
    (leaf("attributes.material", "in", ["steel", 1]), False),
    (leaf("attributes.gauge", "in", [2, 1.5]), True),
    (leaf("attributes.gauge", "lt", 2), True),
    (leaf("attributes.gauge", "le", 1.5), True),
    (leaf("attributes.gauge", "gt", 1.5), False),
    (leaf("attributes.length_mm", "ge", 250), True),
    (leaf("attributes.material", "lt", 5), False),  # not a number: fails
    (leaf("attributes.missing", "gt", 0), False),
    (leaf("attributes.material", "glob", "cop*"), True),
    (leaf("attributes.material", "regex", "^cop"), True),
    (leaf("attributes.length_mm", "regex", "250"), False),  # regex reads text only
    (leaf("attributes.note", "exists", True), True),  # present, even if null
    (leaf("attributes.missing", "exists", True), False),
    (leaf("attributes.missing", "exists", False), True),
    (leaf("attributes.note", "eq", "x"), False),
])
def test_attributes(tree: dict[str, Any], expected: bool) -> None:
    assert holds(tree) is expected


def test_all_any_not() -> None:
    true, false = leaf("part", "eq", "CAB-100"), leaf("part", "eq", "X")
    assert holds({"all": []}) is True
    assert holds({"all": [true, true, true]}) is True
    assert holds({"all": [true, true, false]}) is False
    assert holds({"all": [true, false]}) is False
    assert holds({"all": [true]}) is True
    assert holds({"any": [false, false, true]}) is True
    assert holds({"any": [false, false]}) is False
    assert holds({"any": [false, false, false]}) is False
    assert holds({"not": false}) is True
    assert holds({"not": {"all": [true, {"not": false}]}}) is False


def test_numbers_are_exact_decimals() -> None:
    """A float means its shortest text (0.1 is 0.1, not 0.1000000000000000055...); numeric text
    is read exactly."""
    item = line(1, "TOP", 10, "P", "0.3")
    assert holds(leaf("quantity", "eq", 0.3), item) is True
    assert holds(leaf("quantity", "eq", "0.3"), item) is True
    assert holds(leaf("quantity", "eq", 0.30000000000000004), item) is False
    assert holds(leaf("quantity", "ge", 0.1 + 0.2), item) is False


def test_pins_are_reported() -> None:
    condition = compile_condition({"all": [leaf("item_type", "in", ["document", "software"]),
                                           leaf("part", "glob", "DOC-1"),
                                           leaf("category", "glob", "draw*"),
                                           leaf("level", "gt", 1)]})
    assert condition.pins == {"item_type": frozenset({"document", "software"}),
                              "part": frozenset({"DOC-1"})}
    assert condition.pin_decides is False
    single = compile_condition(leaf("category", "eq", "cable"))
    assert (single.pins, single.pin_decides) == ({"category": frozenset({"cable"})}, True)
    two = compile_condition({"all": [leaf("part", "in", ["A", "B"]), leaf("part", "eq", "B")]})
    assert two.pins == {"part": frozenset({"B"})}
    assert compile_condition({"any": [leaf("part", "eq", "A")]}).pins == {}
    assert compile_condition({"not": leaf("part", "eq", "A")}).pins == {}


@pytest.mark.parametrize(("tree", "pointer", "message"), [
    ([], "", "a condition must be a JSON object"),
    ({}, "", "expected one of all, any, not, or field/op/value"),
    ({"all": [], "any": []}, "", "all/any/not must be the only key of its object, got all, any"),
    ({"all": {}}, "/all", "all takes a list of conditions"),
    ({"any": []}, "/any", "any with no conditions never matches"),
    ({"not": {"all": [{"field": "part", "op": "eq"}]}}, "/not/all/0/value", "value is missing"),
    ({"field": "part", "op": "eq", "value": "A", "x": 1}, "", "unexpected key(s) x"),
    ({"field": 3, "op": "eq", "value": "A"}, "/field", "field must be text"),
    ({"field": "part", "op": 3, "value": "A"}, "/op", "op must be text"),
    ({"field": "colour", "op": "eq", "value": "A"}, "/field",
     "unknown field 'colour'; fields are category, item_type, level, parent.category, "
     "parent.part, part, quantity, unit, attributes.<name>"),
    ({"field": "attributes.", "op": "eq", "value": "A"}, "/field",
     "unknown field 'attributes.'; fields are category, item_type, level, parent.category, "
     "parent.part, part, quantity, unit, attributes.<name>"),
    ({"field": "part", "op": "lt", "value": "A"}, "/op",
     "part does not support op 'lt'; use one of eq, glob, in, ne, regex"),
    ({"field": "level", "op": "glob", "value": "1"}, "/op",
     "level does not support op 'glob'; use one of eq, ge, gt, in, le, lt, ne"),
    ({"field": "attributes.x", "op": "between", "value": 1}, "/op",
     "attributes.x does not support op 'between'; use one of eq, exists, ge, glob, gt, in, le, "
     "lt, ne, regex"),
    ({"field": "part", "op": "eq", "value": 5}, "/value", "expected text"),
    ({"field": "part", "op": "in", "value": []}, "/value", "in takes a non-empty list of texts"),
    ({"field": "part", "op": "in", "value": ["A", 2]}, "/value/1", "expected text"),
    ({"field": "part", "op": "regex", "value": "("}, "/value",
     "not a valid regular expression: missing ), unterminated subpattern at position 0"),
    ({"field": "level", "op": "eq", "value": 1.5}, "/value", "expected a whole number"),
    ({"field": "level", "op": "eq", "value": True}, "/value", "expected a number"),
    ({"field": "quantity", "op": "gt", "value": "lots"}, "/value", "expected a number"),
    ({"field": "quantity", "op": "in", "value": [1, "x"]}, "/value/1", "expected a number"),
    ({"field": "quantity", "op": "in", "value": 1}, "/value",
     "in takes a non-empty list of numbers"),
    ({"field": "attributes.x", "op": "exists", "value": 1}, "/value",
     "exists takes true or false"),
    ({"field": "attributes.x", "op": "in", "value": []}, "/value", "in takes a non-empty list"),
    ({"field": "attributes.x", "op": "eq", "value": None}, "/value",
     "expected text, a number, or true/false"),
    ({"field": "attributes.x", "op": "in", "value": [1, [2]]}, "/value/1",
     "expected text, a number, or true/false"),
    ({"field": "attributes.x", "op": "ge", "value": "NaN"}, "/value", "expected a number"),
    ({"field": "attributes.x", "op": "glob", "value": 1}, "/value", "expected text"),
    ({"all": [{"field": "part", "op": "eq", "value": "A"}, {"not": []}]}, "/all/1/not",
     "a condition must be a JSON object"),
])
def test_faults_name_their_place(tree: Any, pointer: str, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        compile_condition(tree)
    assert (caught.value.pointer, caught.value.message) == (pointer, message)
