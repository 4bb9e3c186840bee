"""Rule conditions: JSON trees that analysts store on a rule, validated and compiled once.

Grammar (every node is a JSON object):

    condition := {"all": [condition, ...]}       every one holds ({"all": []} holds always)
               | {"any": [condition, ...]}       at least one holds (must not be empty)
               | {"not": condition}
               | {"field": FIELD, "op": OP, "value": VALUE}

    FIELD                 what it reads                              OPs
    part                  the line's part number                     eq ne in glob regex
    category              the line's part category                   eq ne in glob regex
    item_type             component|phantom|document|software|bulk   eq ne in glob regex
    unit                  the line's unit code                       eq ne in glob regex
    parent.part           the eBOM parent's part number              eq ne in glob regex
    parent.category       the eBOM parent's category                 eq ne in glob regex
    level                 eBOM depth below the made assembly (1..)   eq ne lt le gt ge in
    quantity              the line's eBOM quantity, in its unit      eq ne lt le gt ge in
    attributes.<name>     a revision attribute                       eq ne in glob regex
                                                                     lt le gt ge exists

`glob` matches the whole text, case-sensitively (`*`, `?`, `[...]`); `regex` is a Python
regular expression searched anywhere in the text (anchor it with ^ and $ to match the whole
text). `in` takes a non-empty list. `ne` is exactly `not eq`. For attributes: `eq`/`in` with a
number compare numerically (the attribute "12.5" equals 12.5), with text or true/false they
compare exactly; `lt le gt ge` read the attribute as a number (a number or numeric text);
`glob`/`regex` read text only; `exists` (value true or false) tests presence. A missing or
unreadable attribute fails every test except `ne` and `exists: false`.

A compiled condition is called as `test(line, level, parent_category)`: the eBOM line as PLM
sent it, its level and its parent's category. Conditions never see the result of other rules,
so whether a rule matches does not depend on rule order.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from operator import attrgetter
from typing import Any

from .types import EBomLine, RuleError

# A test's result is used for its truth only: a regex Match counts as true.
Test = Callable[[EBomLine, int, str], Any]

TEXT_OPS = frozenset({"eq", "ne", "in", "glob", "regex"})
NUMBER_OPS = frozenset({"eq", "ne", "lt", "le", "gt", "ge", "in"})
ATTRIBUTE_OPS = TEXT_OPS | frozenset({"lt", "le", "gt", "ge", "exists"})

# Fields read straight off the line; level and parent.category come from the walk.
_LINE_FIELDS = {
    "part": "part",
    "category": "part_category",
    "item_type": "item_type",
    "unit": "unit",
    "parent.part": "parent_part",
    "quantity": "quantity",
}
TEXT_FIELDS = frozenset({"part", "category", "item_type", "unit", "parent.part",
                         "parent.category"})
NUMBER_FIELDS = frozenset({"level", "quantity"})
ATTRIBUTE_PREFIX = "attributes."

# Fields whose `eq`/`in` at the top of a condition let the rule set index the rule.
INDEXED_FIELDS = ("part", "category", "item_type")

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}
_GLOB_SPECIALS = frozenset("*?[")
_MISSING = object()


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    """A condition ready to run. `pins` maps an indexed field to the only values it can match
    (from an `eq`/`in`/wildcard-free `glob` at the top, or inside a top-level `all`): a line
    whose field is outside them cannot match, so the rule set need not test it there. When
    `pin_decides`, the condition is nothing but that one pin, so a line inside it matches
    without a test."""

    tree: Any
    test: Test
    pins: Mapping[str, frozenset[str]]
    pin_decides: bool

    def __call__(self, line: EBomLine, level: int, parent_category: str) -> bool:
        return bool(self.test(line, level, parent_category))


def compile_condition(tree: Any) -> CompiledCondition:
    """Validate `tree` and compile it into a test; raises RuleError (pointer relative to the
    condition, "" = the whole condition) at the first fault."""
    test = _node(tree, "")
    pins = _pins(tree)
    leaves = tree.get("all", [tree])
    return CompiledCondition(tree=tree, test=test, pins=pins,
                             pin_decides=len(leaves) == 1 and len(pins) == 1)


def as_number(value: Any) -> Decimal | None:
    """A JSON or attribute value as a Decimal, or None if it is not a finite number. Floats go
    through their shortest text so that 0.1 means 0.1, not its binary approximation."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        return Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    return number if number.is_finite() else None


def _node(tree: Any, pointer: str) -> Test:
    if not isinstance(tree, Mapping):
        raise RuleError(pointer, "a condition must be a JSON object")
    keys = set(tree)
    if keys & {"all", "any", "not"}:
        if len(keys) != 1:
            raise RuleError(pointer, "all/any/not must be the only key of its object, got "
                                     + ", ".join(sorted(keys)))
        (key,) = keys
        if key == "not":
            inner = _node(tree["not"], f"{pointer}/not")
            return lambda line, level, parent_category: not inner(
                line, level, parent_category)
        return _group(key, tree[key], f"{pointer}/{key}")
    if "field" in keys or "op" in keys:
        return _leaf(tree, pointer)
    raise RuleError(pointer, "expected one of all, any, not, or field/op/value")


def _group(key: str, children: Any, pointer: str) -> Test:
    if not isinstance(children, list):
        raise RuleError(pointer, f"{key} takes a list of conditions")
    if key == "any" and not children:
        raise RuleError(pointer, "any with no conditions never matches")
    tests = tuple(_node(child, f"{pointer}/{i}") for i, child in enumerate(children))
    if len(tests) == 1:
        return tests[0]
    if key == "all":
        if not tests:
            return lambda line, level, parent_category: True
        if len(tests) == 2:
            a, b = tests
            return lambda line, level, parent_category: a(
                line, level, parent_category) and b(line, level, parent_category)

        # Plain loops: a generator inside all()/any() costs more than the tests themselves.
        def all_hold(line: EBomLine, level: int, parent_category: str) -> bool:
            for test in tests:  # noqa: SIM110
                if not test(line, level, parent_category):
                    return False
            return True

        return all_hold

    def any_holds(line: EBomLine, level: int, parent_category: str) -> bool:
        for test in tests:  # noqa: SIM110
            if test(line, level, parent_category):
                return True
        return False

    return any_holds


def _leaf(tree: Mapping[str, Any], pointer: str) -> Test:
    extra = set(tree) - {"field", "op", "value"}
    if extra:
        raise RuleError(pointer, "unexpected key(s) " + ", ".join(sorted(extra)))
    for key in ("field", "op", "value"):
        if key not in tree:
            raise RuleError(f"{pointer}/{key}", f"{key} is missing")
    field, op, value = tree["field"], tree["op"], tree["value"]
    if not isinstance(field, str):
        raise RuleError(f"{pointer}/field", "field must be text")
    if not isinstance(op, str):
        raise RuleError(f"{pointer}/op", "op must be text")
    if field in TEXT_FIELDS:
        return _text_test(field, _op(op, TEXT_OPS, field, pointer), value, pointer)
    if field in NUMBER_FIELDS:
        return _number_test(field, _op(op, NUMBER_OPS, field, pointer), value, pointer)
    if field.startswith(ATTRIBUTE_PREFIX) and len(field) > len(ATTRIBUTE_PREFIX):
        name = field[len(ATTRIBUTE_PREFIX):]
        return _attribute_test(name, _op(op, ATTRIBUTE_OPS, field, pointer), value,
                               pointer)
    known = ", ".join([*sorted(TEXT_FIELDS | NUMBER_FIELDS), "attributes.<name>"])
    raise RuleError(f"{pointer}/field", f"unknown field {field!r}; fields are {known}")


def _op(op: str, allowed: frozenset[str], field: str, pointer: str) -> str:
    if op not in allowed:
        raise RuleError(f"{pointer}/op", f"{field} does not support op {op!r}; use one of "
                                         + ", ".join(sorted(allowed)))
    return op


def _text_test(field: str, op: str, value: Any, pointer: str) -> Test:
    holds: Callable[[str], Any]
    if op == "in":
        holds = frozenset(_text_list(value, pointer)).__contains__
    elif op in ("eq", "ne"):
        text = _text(value, pointer)
        holds = text.__eq__ if op == "eq" else text.__ne__
    else:
        holds = _pattern(op, _text(value, pointer), pointer)
    return _reading(field, holds)


def _number_test(field: str, op: str, value: Any, pointer: str) -> Test:
    integral = field == "level"
    holds: Callable[[Any], Any]
    if op == "in":
        if not isinstance(value, list) or not value:
            raise RuleError(f"{pointer}/value", "in takes a non-empty list of numbers")
        holds = frozenset(_number(item, f"{pointer}/value/{i}", integral)
                          for i, item in enumerate(value)).__contains__
    else:
        number = _number(value, f"{pointer}/value", integral)
        # The line's value is the left operand: `value < number` is `number > value`.
        holds = {"eq": number.__eq__, "ne": number.__ne__, "lt": number.__gt__,
                 "le": number.__ge__, "gt": number.__lt__, "ge": number.__le__}[op]
    return _reading(field, holds)


def _reading(field: str, holds: Callable[[Any], Any]) -> Test:
    """Apply `holds` to the field's value. One closure per field keeps a test to one Python
    call; `holds` is a C-level method or a precompiled pattern."""
    if field == "level":
        return lambda line, level, parent_category: holds(level)
    if field == "parent.category":
        return lambda line, level, parent_category: holds(parent_category)
    get = attrgetter(_LINE_FIELDS[field])
    return lambda line, level, parent_category: holds(get(line))


def _attribute_test(name: str, op: str, value: Any, pointer: str) -> Test:
    if op == "exists":
        if not isinstance(value, bool):
            raise RuleError(f"{pointer}/value", "exists takes true or false")
        return lambda line, level, parent_category: (name in line.attributes) is value
    if op in ("eq", "ne") and isinstance(value, bool | str):
        # The common cases ("reference_only": true, "material": "steel") in one call: a
        # missing attribute reads as None, which equals no text and is neither true nor false.
        if isinstance(value, bool):
            if op == "eq":
                return lambda line, level, parent_category: line.attributes.get(name) is value
            return lambda line, level, parent_category: line.attributes.get(name) is not value
        if op == "eq":
            return lambda line, level, parent_category: line.attributes.get(name) == value
        return lambda line, level, parent_category: line.attributes.get(name) != value
    if op in ("eq", "ne", "in"):
        if op == "in":
            if not isinstance(value, list) or not value:
                raise RuleError(f"{pointer}/value", "in takes a non-empty list")
            matchers = tuple(_attribute_equals(item, f"{pointer}/value/{i}")
                             for i, item in enumerate(value))
        else:
            matchers = (_attribute_equals(value, f"{pointer}/value"),)
        wanted = op != "ne"

        def equals(line: EBomLine, level: int, parent_category: str) -> bool:
            actual = line.attributes.get(name, _MISSING)
            if actual is _MISSING:
                return not wanted
            for matches in matchers:
                if matches(actual):
                    return wanted
            return not wanted

        return equals
    if op in _COMPARE:
        number = _number(value, f"{pointer}/value", integral=False)
        compare = _COMPARE[op]

        def compares(line: EBomLine, level: int, parent_category: str) -> bool:
            actual = as_number(line.attributes.get(name))
            return actual is not None and compare(actual, number)

        return compares
    search = _pattern(op, _text(value, pointer), pointer)

    def matches_text(line: EBomLine, level: int, parent_category: str) -> bool:
        actual = line.attributes.get(name)
        return isinstance(actual, str) and search(actual) is not None

    return matches_text


def _attribute_equals(value: Any, pointer: str) -> Callable[[Any], bool]:
    if isinstance(value, bool):
        return lambda actual: actual is value
    if isinstance(value, str):
        return lambda actual: isinstance(actual, str) and actual == value
    number = as_number(value)
    if number is None:
        raise RuleError(pointer, "expected text, a number, or true/false")
    return lambda actual: as_number(actual) == number


def _pattern(op: str, text: str, pointer: str) -> Callable[[str], re.Match[str] | None]:
    """A precompiled matcher; its Match or None is the test's truth value."""
    if op == "glob":
        return re.compile(fnmatch.translate(text)).match
    try:
        return re.compile(text).search
    except re.error as error:
        raise RuleError(f"{pointer}/value", f"not a valid regular expression: {error}") from None


def _text(value: Any, pointer: str) -> str:
    if not isinstance(value, str):
        raise RuleError(f"{pointer}/value", "expected text")
    return value


def _text_list(value: Any, pointer: str) -> list[str]:
    if not isinstance(value, list) or not value:
        raise RuleError(f"{pointer}/value", "in takes a non-empty list of texts")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise RuleError(f"{pointer}/value/{i}", "expected text")
    return value


def _number(value: Any, pointer: str, integral: bool) -> Decimal:
    number = as_number(value)
    if number is None:
        raise RuleError(pointer, "expected a number")
    if integral and number != number.to_integral_value():
        raise RuleError(pointer, "expected a whole number")
    return number


def _pins(tree: Any) -> dict[str, frozenset[str]]:
    """Values an indexed field must take for the (already validated) tree to hold."""
    leaves = tree.get("all", [tree]) if isinstance(tree, Mapping) else []
    pins: dict[str, frozenset[str]] = {}
    for leaf in leaves:
        field = leaf.get("field")
        if field not in INDEXED_FIELDS:
            continue
        op, value = leaf["op"], leaf["value"]
        if op == "eq" or (op == "glob" and not _GLOB_SPECIALS & set(value)):
            values = frozenset({value})
        elif op == "in":
            values = frozenset(value)
        else:
            continue
        # Two pins on one field inside `all` must both hold: only their common values can.
        pins[field] = pins[field] & values if field in pins else values
    return pins
