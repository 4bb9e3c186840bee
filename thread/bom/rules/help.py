"""What an analyst needs to write a rule, next to the rule: the condition grammar and each
action's parameters with an example. Built from the engine's own constants, so a new field,
operator, unit mode or ERP field shows up here without a second list to keep in step (a test
checks that every engine action has its entry)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from thread.bom.engine.conditions import ATTRIBUTE_OPS, NUMBER_FIELDS, NUMBER_OPS, TEXT_FIELDS, TEXT_OPS
from thread.bom.engine.rules import (
    ADD_ITEM,
    ADDED_ITEM_TYPES,
    ASSIGN_OPERATION,
    CONSOLIDATE,
    CONVERT_UNIT,
    ERP_BOOL_FIELDS,
    ERP_TEXT_FIELDS,
    EXCLUDE,
    FLATTEN,
    MAX_TEXT,
    ROUNDING_MODES,
    SCRAP,
    SET_ERP_FIELDS,
    SET_MAKE_BUY,
    SUBSTITUTE,
)
from thread.bom.engine.types import ITEM_TYPES, MAKE_OR_BUY


@dataclass(frozen=True)
class ActionHelp:
    action: str
    does: str
    params: str
    example: dict

    @property
    def example_json(self) -> str:
        return json.dumps(self.example)


def _ops(ops: frozenset[str]) -> str:
    return " ".join(sorted(ops))


CONDITION_FIELDS = [
    *((name, f"text: {_ops(TEXT_OPS)}") for name in sorted(TEXT_FIELDS)),
    *((name, f"number: {_ops(NUMBER_OPS)}") for name in sorted(NUMBER_FIELDS)),
    ("attributes.<name>", f"an eBOM line attribute: {_ops(ATTRIBUTE_OPS)}"),
]
CONDITION_SHAPES = [
    '{"field": FIELD, "op": OP, "value": VALUE}',
    '{"all": [condition, ...]}  ({"all": []} matches every line)',
    '{"any": [condition, ...]}',
    '{"not": condition}',
]
CONDITION_EXAMPLE = {"all": [{"field": "part", "op": "glob", "value": "TB-31*"},
                             {"field": "attributes.material", "op": "eq", "value": "AL6061"}]}
CONDITION_HELP = (
    "JSON. A test {\"field\", \"op\", \"value\"}, or all / any / not of conditions. Item types: "
    + ", ".join(ITEM_TYPES) + ". Example: " + json.dumps(CONDITION_EXAMPLE))

ACTION_HELP: dict[str, ActionHelp] = {help.action: help for help in [
    ActionHelp(EXCLUDE, "The line and everything below it are left out of the mBOM.",
               "none", {}),
    ActionHelp(FLATTEN, "The line dissolves; its children move up into the assembly, "
                        "quantities multiplied (phantoms are flattened anyway).", "none", {}),
    ActionHelp(SET_MAKE_BUY, "Make or buy this part at this plant (a bought subassembly is one "
                             "line; nothing below it is built).",
               f"make_or_buy: {' or '.join(MAKE_OR_BUY)}", {"make_or_buy": "buy"}),
    ActionHelp(SUBSTITUTE, "Use the plant's alternate part instead (only on a line without "
                           "children, in the line's unit).",
               "part: the alternate's number (must exist); factor: optional, > 0, default 1 "
               "(1 of the original = factor of the alternate)",
               {"part": "TI-650-US", "factor": "1"}),
    ActionHelp(CONVERT_UNIT, "State the quantity in another unit, exactly; then round.",
               "unit: a unit code, or to_plant_unit: true (the plant's unit for the part, else "
               "its base unit); rounding, optional: round_up_to_multiple: X, or decimals: N "
               f"with rounding: {' or '.join(ROUNDING_MODES)} (default up)",
               {"to_plant_unit": True, "round_up_to_multiple": "0.01"}),
    ActionHelp(SCRAP, "Plan for losses: scrap p % multiplies by (1 + p/100); yield y % divides "
                      "by y/100.",
               "exactly one of scrap_percent (≥ 0) or yield_percent (> 0, ≤ 100)",
               {"scrap_percent": "3"}),
    ActionHelp(ASSIGN_OPERATION, "The routing operation that consumes the component.",
               f"operation: a code, up to {MAX_TEXT} characters", {"operation": "WELD"}),
    ActionHelp(ADD_ITEM, "Add a manufacturing-only item (packaging, consumable, label) to every "
                         "made assembly the condition matches (it tests the assembly itself).",
               "part (must exist), quantity (> 0, per one assembly), unit (must measure the "
               f"part), item_type: optional, {' or '.join(ADDED_ITEM_TYPES)}",
               {"part": "PK-100", "quantity": "1", "unit": "pcs"}),
    ActionHelp(CONSOLIDATE, "Merge lines of the same part (and same unit, operation, ERP "
                            "fields…) under one assembly into one line.", "none", {}),
    ActionHelp(SET_ERP_FIELDS, "Set fields the ERP keeps per BOM item; several rules merge key "
                               "by key.",
               "at least one of " + ", ".join(f"{f} (text)" for f in ERP_TEXT_FIELDS) + ", "
               + ", ".join(f"{f} (true/false)" for f in ERP_BOOL_FIELDS),
               {"backflush": True, "supply_area": "PSA-01"}),
]}
PARAMS_HELP = "JSON object; what each action takes is listed below the rules."
