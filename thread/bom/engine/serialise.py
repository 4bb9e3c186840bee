"""Mapping results as plain JSON-ready dicts, to persist as lineage and show in the API.

Decimals become plain-notation strings ("1000", "0.05"), never floats, so that nothing is lost
and no reader sees "1E+3".
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .types import Disposition, MappingResult, MappingWarning, MBom, MBomLine, Rounding


def decimal_text(number: Decimal) -> str:
    """`number` in plain notation without trailing zeros."""
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def result_to_dict(result: MappingResult) -> dict[str, Any]:
    return {
        "plant": result.plant,
        "root_part": result.root_part,
        "mboms": [mbom_to_dict(mbom) for mbom in result.mboms.values()],
        "set_aside": [disposition_to_dict(disposition) for disposition in result.set_aside],
        "warnings": [warning_to_dict(warning) for warning in result.warnings],
    }


def mbom_to_dict(mbom: MBom) -> dict[str, Any]:
    return {"part": mbom.part, "base_unit": mbom.base_unit,
            "lines": [line_to_dict(line) for line in mbom.lines]}


def line_to_dict(line: MBomLine) -> dict[str, Any]:
    return {
        "position": line.position,
        "part": line.part,
        "quantity": decimal_text(line.quantity),
        "unit": line.unit,
        "item_type": line.item_type,
        "make_or_buy": line.make_or_buy,
        "unrounded_quantity": decimal_text(line.unrounded_quantity),
        "rounding": _rounding_to_dict(line.rounding) if line.rounding else None,
        "scrap_percent": _optional_decimal(line.scrap_percent),
        "yield_percent": _optional_decimal(line.yield_percent),
        "operation": line.operation,
        "erp_fields": dict(line.erp_fields),
        "reference_designators": list(line.reference_designators),
        "substitutes_for": line.substitutes_for,
        "added_by_rule": line.added_by_rule,
        "lineage": {"source_line_ids": list(line.lineage.source_line_ids),
                    "rule_ids": list(line.lineage.rule_ids),
                    "paths": [list(path) for path in line.lineage.paths]},
    }


def disposition_to_dict(disposition: Disposition) -> dict[str, Any]:
    return {"kind": disposition.kind, "assembly": disposition.assembly,
            "path": list(disposition.path), "rule_id": disposition.rule_id,
            "position": disposition.position, "bought_line_id": disposition.bought_line_id}


def warning_to_dict(warning: MappingWarning) -> dict[str, Any]:
    return {"code": warning.code, "message": warning.message, "assembly": warning.assembly,
            "line_id": warning.line_id, "rule_id": warning.rule_id}


def _rounding_to_dict(rounding: Rounding) -> dict[str, Any]:
    if rounding.multiple is not None:
        return {"multiple": decimal_text(rounding.multiple)}
    return {"decimals": rounding.decimals, "mode": rounding.mode}


def _optional_decimal(number: Decimal | None) -> str | None:
    return decimal_text(number) if number is not None else None
