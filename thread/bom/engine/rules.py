"""Rule actions: their parameters, validation, and the compiled, indexed rule set.

Validation has two layers. The shape of a rule (known action, well-formed params, valid
condition) needs nothing but the rule. Its references (a substitute part that exists, a unit
that exists and can measure the part) need the catalog, passed as a PlantContext. The admin form
runs both through `validate_rule`; `compile_rules` runs the first; `map_ebom` runs the second
for the plant it maps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from thread.catalog.units import UnitMismatch, convert

from .conditions import INDEXED_FIELDS, CompiledCondition, Test, as_number, compile_condition
from .types import (
    BULK,
    COMPONENT,
    MAKE_OR_BUY,
    NO_ATTRIBUTES,
    EBomLine,
    PlantContext,
    Rounding,
    Rule,
    RuleError,
    RuleSetError,
    empty_mapping,
)

EXCLUDE = "exclude"
FLATTEN = "flatten"
SET_MAKE_BUY = "set_make_buy"
SUBSTITUTE = "substitute"
CONVERT_UNIT = "convert_unit"
SCRAP = "scrap"
ASSIGN_OPERATION = "assign_operation"
ADD_ITEM = "add_item"
CONSOLIDATE = "consolidate"
SET_ERP_FIELDS = "set_erp_fields"
ACTIONS = (EXCLUDE, FLATTEN, SET_MAKE_BUY, SUBSTITUTE, CONVERT_UNIT, SCRAP, ASSIGN_OPERATION,
           ADD_ITEM, CONSOLIDATE, SET_ERP_FIELDS)

ROUNDING_MODES = ("up", "half_up")
ROUNDING_KEYS = ("round_up_to_multiple", "decimals", "rounding")
MAX_DECIMALS = 15  # the catalog stores quantities with 15 decimal places
MAX_TEXT = 40  # operation codes and ERP field values: short codes, not prose
ERP_TEXT_FIELDS = ("item_category", "supply_area")
ERP_BOOL_FIELDS = ("backflush",)
ADDED_ITEM_TYPES = (COMPONENT, BULK)

HUNDRED = Decimal(100)


# ---------------------------------------------------------------------------------------------
# Parsed action parameters


@dataclass(frozen=True, slots=True)
class SetMakeBuy:
    make_or_buy: str


@dataclass(frozen=True, slots=True)
class Substitute:
    part: str
    factor: Decimal  # 1 of the replaced part = factor of the substitute, in the line's unit


@dataclass(frozen=True, slots=True)
class ConvertUnit:
    unit: str | None  # None: the plant's unit for the part (its base unit if the plant has none)
    rounding: Rounding | None


@dataclass(frozen=True, slots=True)
class Scrap:
    scrap_percent: Decimal | None
    yield_percent: Decimal | None
    factor: Decimal  # what the quantity is multiplied by


@dataclass(frozen=True, slots=True)
class AssignOperation:
    operation: str


@dataclass(frozen=True, slots=True)
class AddItem:
    part: str
    quantity: Decimal
    unit: str
    item_type: str


@dataclass(frozen=True, slots=True)
class SetErpFields:
    fields: Mapping[str, Any]


ActionSpec = (SetMakeBuy | Substitute | ConvertUnit | Scrap | AssignOperation | AddItem
              | SetErpFields | None)


class _Params:
    """Reads one action's params, collecting every fault with its pointer."""

    def __init__(self, params: Any) -> None:
        self.errors: list[RuleError] = []
        if not isinstance(params, Mapping):
            self.errors.append(RuleError("/params", "params must be a JSON object"))
            params = {}
        self.params: Mapping[str, Any] = params
        self.read: set[str] = set()

    def fail(self, key: str, message: str) -> None:
        self.errors.append(RuleError(f"/params/{key}" if key else "/params", message))

    def has(self, key: str) -> bool:
        return key in self.params

    def text(self, key: str, required: bool = True, choices: Sequence[str] = ()) -> str | None:
        self.read.add(key)
        if key not in self.params:
            if required:
                self.fail(key, f"{key} is missing")
            return None
        value = self.params[key]
        if not isinstance(value, str) or not value.strip():
            self.fail(key, f"{key} must be non-empty text")
            return None
        if choices and value not in choices:
            self.fail(key, f"{key} must be one of {', '.join(choices)}, not {value!r}")
            return None
        if len(value) > MAX_TEXT:
            self.fail(key, f"{key} is longer than {MAX_TEXT} characters")
            return None
        return value

    def number(self, key: str, required: bool = True, minimum: Decimal | None = None,
               above: Decimal | None = None, maximum: Decimal | None = None) -> Decimal | None:
        self.read.add(key)
        if key not in self.params:
            if required:
                self.fail(key, f"{key} is missing")
            return None
        value = self.params[key]
        # Numeric text is accepted: JSON tools often write decimals as strings to keep them
        # exact ("0.5"), and Decimal reads them exactly.
        number = as_number(value)
        if number is None:
            self.fail(key, f"{key} must be a number")
            return None
        if minimum is not None and number < minimum:
            self.fail(key, f"{key} must not be less than {minimum}, got {number}")
            return None
        if above is not None and number <= above:
            self.fail(key, f"{key} must be greater than {above}, got {number}")
            return None
        if maximum is not None and number > maximum:
            self.fail(key, f"{key} must not be more than {maximum}, got {number}")
            return None
        return number

    def boolean(self, key: str) -> bool | None:
        self.read.add(key)
        value = self.params.get(key)
        if not isinstance(value, bool):
            self.fail(key, f"{key} must be true or false")
            return None
        return value

    def one_of(self, *keys: str) -> str | None:
        """The single one of `keys` present; a fault if none or several are."""
        self.read.update(keys)
        present = [key for key in keys if key in self.params]
        if len(present) != 1:
            self.fail("", f"give exactly one of {', '.join(keys)}"
                          + (f", not {' and '.join(present)}" if present else ""))
            return None
        return present[0]

    def unknown_keys(self) -> None:
        for key in sorted(set(self.params) - self.read):
            self.fail(key, f"unknown parameter {key!r}")


def _parse(action: str, params: Any) -> tuple[ActionSpec, list[RuleError]]:
    """The action's parsed parameters, or the faults in them (pointers under /params)."""
    reader = _Params(params)
    spec = _PARSERS[action](reader)
    reader.unknown_keys()
    return (spec if not reader.errors else None), reader.errors


def _no_params(reader: _Params) -> None:
    return None


def _set_make_buy(reader: _Params) -> SetMakeBuy | None:
    value = reader.text("make_or_buy", choices=MAKE_OR_BUY)
    return SetMakeBuy(value) if value else None


def _substitute(reader: _Params) -> Substitute | None:
    part = reader.text("part")
    factor = reader.number("factor", required=False, above=Decimal(0))
    return Substitute(part, factor or Decimal(1)) if part else None


def _convert_unit(reader: _Params) -> ConvertUnit | None:
    target = reader.one_of("unit", "to_plant_unit")
    unit = None
    if target == "unit":
        unit = reader.text("unit")
    elif target == "to_plant_unit":
        reader.read.add("to_plant_unit")
        if reader.params["to_plant_unit"] is not True:
            reader.fail("to_plant_unit", "to_plant_unit must be true (or give unit instead)")
    rounding = None
    if any(reader.has(key) for key in ROUNDING_KEYS):
        rounding = _rounding(reader)
    return ConvertUnit(unit, rounding) if not reader.errors else None


def _rounding(reader: _Params) -> Rounding | None:
    reader.read.update(ROUNDING_KEYS)
    if reader.has("round_up_to_multiple"):
        if reader.has("decimals") or reader.has("rounding"):
            reader.fail("round_up_to_multiple",
                        "round_up_to_multiple always rounds up; do not combine it with "
                        "decimals or rounding")
        multiple = reader.number("round_up_to_multiple", above=Decimal(0))
        return Rounding(multiple=multiple) if multiple is not None else None
    decimals = reader.number("decimals", minimum=Decimal(0), maximum=Decimal(MAX_DECIMALS))
    if decimals is not None and decimals != decimals.to_integral_value():
        reader.fail("decimals", "decimals must be a whole number")
        decimals = None
    mode = reader.text("rounding", required=False, choices=ROUNDING_MODES) or "up"
    return Rounding(decimals=int(decimals), mode=mode) if decimals is not None else None


def _scrap(reader: _Params) -> Scrap | None:
    kind = reader.one_of("scrap_percent", "yield_percent")
    if kind == "scrap_percent":
        percent = reader.number("scrap_percent", minimum=Decimal(0))
        if percent is not None:
            return Scrap(percent, None, 1 + percent / HUNDRED)
    elif kind == "yield_percent":
        percent = reader.number("yield_percent", above=Decimal(0), maximum=HUNDRED)
        if percent is not None:
            return Scrap(None, percent, HUNDRED / percent)
    return None


def _assign_operation(reader: _Params) -> AssignOperation | None:
    operation = reader.text("operation")
    return AssignOperation(operation) if operation else None


def _add_item(reader: _Params) -> AddItem | None:
    part = reader.text("part")
    quantity = reader.number("quantity", above=Decimal(0))
    unit = reader.text("unit")
    item_type = reader.text("item_type", required=False, choices=ADDED_ITEM_TYPES) or COMPONENT
    if part is None or quantity is None or unit is None:
        return None
    return AddItem(part, quantity, unit, item_type)


def _set_erp_fields(reader: _Params) -> SetErpFields | None:
    fields: dict[str, Any] = {}
    for key in ERP_TEXT_FIELDS:
        if reader.has(key):
            fields[key] = reader.text(key)
    for key in ERP_BOOL_FIELDS:
        if reader.has(key):
            fields[key] = reader.boolean(key)
    if not reader.params:
        reader.fail("", "set at least one of " + ", ".join(ERP_TEXT_FIELDS + ERP_BOOL_FIELDS))
    return SetErpFields(fields) if fields and None not in fields.values() else None


_PARSERS = {
    EXCLUDE: _no_params,
    FLATTEN: _no_params,
    CONSOLIDATE: _no_params,
    SET_MAKE_BUY: _set_make_buy,
    SUBSTITUTE: _substitute,
    CONVERT_UNIT: _convert_unit,
    SCRAP: _scrap,
    ASSIGN_OPERATION: _assign_operation,
    ADD_ITEM: _add_item,
    SET_ERP_FIELDS: _set_erp_fields,
}


def _catalog_errors(spec: ActionSpec, context: PlantContext) -> list[RuleError]:
    """Faults in what a well-formed action refers to, at this context's catalog."""
    errors = []
    if isinstance(spec, Substitute) and spec.part not in context.known_parts:
        errors.append(RuleError("/params/part", f"substitute part {spec.part!r} does not exist"))
    if isinstance(spec, ConvertUnit) and spec.unit is not None and spec.unit not in context.units:
        errors.append(RuleError("/params/unit", f"unknown unit {spec.unit!r}"))
    if isinstance(spec, AddItem):
        part = context.known_parts.get(spec.part)
        if part is None:
            errors.append(RuleError("/params/part", f"part {spec.part!r} does not exist"))
        elif spec.unit not in context.units:
            errors.append(RuleError("/params/unit", f"unknown unit {spec.unit!r}"))
        else:
            try:
                convert(Decimal(1), spec.unit, part.base_unit, context.units,
                        context.part_conversions.get(spec.part, ()))
            except UnitMismatch:
                errors.append(RuleError(
                    "/params/unit", f"{spec.unit} cannot measure part {spec.part} "
                                    f"(base unit {part.base_unit}, no conversion)"))
    return errors


def validate_rule(action: Any, params: Any, condition: Any,
                  context: PlantContext | None = None) -> list[RuleError]:
    """Every fault of one rule, for a form to show next to its fields. Without `context` only
    the rule's shape is checked; with it, also the parts and units it names."""
    if action not in ACTIONS:
        errors = [RuleError("/action", f"unknown action {action!r}; actions are "
                                       + ", ".join(ACTIONS))]
    else:
        spec, errors = _parse(action, params)
        if context is not None and not errors:
            errors = _catalog_errors(spec, context)
    try:
        compile_condition(condition)
    except RuleError as error:
        errors.append(RuleError(f"/condition{error.pointer}", error.message))
    return errors


def validate_rules(rules: Iterable[Rule], context: PlantContext | None = None) -> list[RuleError]:
    """Every fault of the enabled rules of a rule set (the publish check), each with its rule
    id: the faults of each rule, and ids used twice. Disabled rules do not run, so they are
    not checked here; the admin form checks each rule on save."""
    errors: list[RuleError] = []
    seen: set[int] = set()
    for rule in rules:
        if not rule.enabled:
            continue
        if rule.id in seen:
            errors.append(RuleError("/id", f"rule id {rule.id} is used twice", rule.id))
        seen.add(rule.id)
        for error in validate_rule(rule.action, rule.params, rule.condition, context):
            errors.append(RuleError(error.pointer, error.message, rule.id))
    return errors


# ---------------------------------------------------------------------------------------------
# Compiled rules


@dataclass(frozen=True, slots=True)
class CompiledRule:
    rule_id: int
    order: int
    name: str
    action: str
    spec: ActionSpec
    condition: CompiledCondition


@dataclass(frozen=True, slots=True)
class Plan:
    """The combined effect of one set of matching rules on a line (see the package docstring
    for how actions compose). `rule_ids`: the rules whose effect shows on the line's own mBOM
    line, in rule order; `flatten_rule` shows on the lines its children feed instead."""

    exclude_rule: int | None = None
    flatten_rule: int | None = None
    make_or_buy: str | None = None
    substitute: Substitute | None = None
    substitute_rule: int | None = None
    convert: ConvertUnit | None = None
    convert_rule: int | None = None
    scrap: Scrap | None = None
    operation: str = ""
    erp_fields: Mapping[str, Any] = field(default_factory=empty_mapping)
    consolidate: bool = False
    rule_ids: tuple[int, ...] = ()


NO_PLAN = Plan()


class Candidates:
    """The rules that can match the lines of one index key: `fixed` match every such line
    (their condition is the key's pin), `tested` must be tested. `plans` memoises the plan per
    tuple of tested rules that matched."""

    __slots__ = ("fixed", "plans", "rules", "tested")

    def __init__(self, rules: tuple[CompiledRule, ...], fixed: tuple[int, ...],
                 tested: tuple[tuple[int, Test], ...]) -> None:
        self.rules = rules
        self.fixed = fixed
        self.tested = tested
        self.plans: dict[tuple[int, ...], Plan] = {}

    def plan(self, hits: tuple[int, ...]) -> Plan:
        found = self.plans.get(hits)
        if found is None:
            matched = sorted((*self.fixed, *hits))
            found = _combine([self.rules[index] for index in matched]) if matched else NO_PLAN
            self.plans[hits] = found
        return found


@dataclass(slots=True)
class CompiledRuleSet:
    """The enabled rules in run order, compiled once and indexed for `candidates`.

    Its caches (candidates per index key, plans per set of matching rules) fill as lines are
    mapped and stay small: they are bounded by the distinct keys and rule combinations, not by
    lines. One set may serve many mappings and threads; a race only builds an entry twice."""

    rules: tuple[CompiledRule, ...]
    # add_item rules test each made assembly; all others test eBOM lines.
    assembly_rules: tuple[CompiledRule, ...]
    _unpinned: tuple[int, ...] = ()
    _buckets: dict[str, dict[str, tuple[int, ...]]] = field(default_factory=dict)
    _candidates: dict[tuple[str | None, ...], Candidates] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unpinned: list[int] = []
        buckets: dict[str, dict[str, list[int]]] = {name: {} for name in INDEXED_FIELDS}
        for index, rule in enumerate(self.rules):
            pins = rule.condition.pins
            # One field is enough to index by; part numbers are the most selective.
            pinned = next((name for name in INDEXED_FIELDS if name in pins), None)
            if pinned is None:
                unpinned.append(index)
            else:
                for value in pins[pinned]:
                    buckets[pinned].setdefault(value, []).append(index)
        self._unpinned = tuple(unpinned)
        self._buckets = {name: {value: tuple(indexes) for value, indexes in values.items()}
                         for name, values in buckets.items()}

    def catalog_errors(self, context: PlantContext) -> list[RuleError]:
        return [RuleError(error.pointer, error.message, rule.rule_id)
                for rule in (*self.rules, *self.assembly_rules)
                for error in _catalog_errors(rule.spec, context)]

    @property
    def index(self) -> tuple[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any],
                             Mapping[tuple[str | None, ...], Candidates]]:
        """The index by part, category and item type, and the candidates built so far by
        index key, for a caller that looks up many lines in a loop."""
        buckets = self._buckets
        return buckets["part"], buckets["category"], buckets["item_type"], self._candidates

    def candidates(self, line: EBomLine) -> Candidates:
        """The rules that can match `line`, built once per index key."""
        buckets = self._buckets
        part, category, item_type = line.part, line.part_category, line.item_type
        key = (part if part in buckets["part"] else None,
               category if category in buckets["category"] else None,
               item_type if item_type in buckets["item_type"] else None)
        found = self._candidates.get(key)
        if found is None:
            fixed: set[int] = set()
            tested = set(self._unpinned)
            for name, value in zip(INDEXED_FIELDS, key, strict=True):
                if value is not None:
                    for index in self._buckets[name][value]:
                        decided = self.rules[index].condition.pin_decides
                        (fixed if decided else tested).add(index)
            found = Candidates(
                self.rules, tuple(sorted(fixed)),
                tuple((index, self.rules[index].condition.test) for index in sorted(tested)))
            self._candidates[key] = found
        return found


def _combine(matched: Sequence[CompiledRule]) -> Plan:
    """Compose matching rules (in run order) into one plan; see the package docstring."""
    exclude = next((rule for rule in matched if rule.action == EXCLUDE), None)
    if exclude is not None:
        return Plan(exclude_rule=exclude.rule_id, rule_ids=(exclude.rule_id,))
    flatten = next((rule for rule in matched if rule.action == FLATTEN), None)
    last: dict[str, CompiledRule] = {}
    erp_fields: dict[str, Any] = {}
    erp_sources: dict[str, int] = {}
    consolidate: CompiledRule | None = None
    for rule in matched:
        if isinstance(rule.spec, SetErpFields):
            for key, value in rule.spec.fields.items():
                erp_fields[key] = value
                erp_sources[key] = rule.rule_id
        elif rule.action == CONSOLIDATE:
            consolidate = consolidate or rule
        elif rule.action != FLATTEN:
            last[rule.action] = rule
    # Only winners show: a value a later rule overrode left no trace on the line.
    shown = {rule.rule_id for rule in last.values()} | set(erp_sources.values())
    if consolidate is not None:
        shown.add(consolidate.rule_id)

    def winner(action: str) -> CompiledRule | None:
        return last.get(action)

    make_buy, substitute, convert_unit, scrap, operation = (
        winner(SET_MAKE_BUY), winner(SUBSTITUTE), winner(CONVERT_UNIT), winner(SCRAP),
        winner(ASSIGN_OPERATION))
    return Plan(
        flatten_rule=flatten.rule_id if flatten else None,
        make_or_buy=cast(SetMakeBuy, make_buy.spec).make_or_buy if make_buy else None,
        substitute=cast(Substitute, substitute.spec) if substitute else None,
        substitute_rule=substitute.rule_id if substitute else None,
        convert=cast(ConvertUnit, convert_unit.spec) if convert_unit else None,
        convert_rule=convert_unit.rule_id if convert_unit else None,
        scrap=cast(Scrap, scrap.spec) if scrap else None,
        operation=cast(AssignOperation, operation.spec).operation if operation else "",
        erp_fields=dict(sorted(erp_fields.items())) if erp_fields else NO_ATTRIBUTES,
        consolidate=consolidate is not None,
        rule_ids=tuple(rule.rule_id for rule in matched if rule.rule_id in shown),
    )


def compile_rules(rules: Iterable[Rule]) -> CompiledRuleSet:
    """Compile the enabled rules once, in run order (`order`, then `id`, so the order of the
    list does not matter). Raises RuleSetError with every shape fault found."""
    enabled = sorted((rule for rule in rules if rule.enabled), key=lambda r: (r.order, r.id))
    errors = validate_rules(enabled)
    if errors:
        raise RuleSetError(errors)
    compiled = [
        CompiledRule(rule.id, rule.order, rule.name, rule.action,
                     _parse(rule.action, rule.params)[0], compile_condition(rule.condition))
        for rule in enabled
    ]
    return CompiledRuleSet(
        rules=tuple(rule for rule in compiled if rule.action != ADD_ITEM),
        assembly_rules=tuple(rule for rule in compiled if rule.action == ADD_ITEM),
    )
