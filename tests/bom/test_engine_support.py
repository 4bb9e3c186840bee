"""Builders shared by the mapping engine tests (no tests here): units, eBOM lines, rules."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from thread.bom.engine import EBom, EBomLine, KnownPart, PlantContext, PlantPartData, Rule
from thread.catalog.units import PartConversion, Unit

UNITS = {
    "pcs": Unit("pcs", "count", Decimal(1)),
    "mm": Unit("mm", "length", Decimal("0.001")),
    "m": Unit("m", "length", Decimal(1)),
    "g": Unit("g", "mass", Decimal("0.001")),
    "kg": Unit("kg", "mass", Decimal(1)),
}

# Base unit per part-number prefix, so that a test names a part and gets a consistent line.
BASE_UNITS = {"CAB": "m", "SHT": "kg", "GLU": "kg"}


def base_unit_of(part: str) -> str:
    return BASE_UNITS.get(part[:3], "pcs")


def line(line_id: int, parent: str, find_number: int, part: str, quantity: str | int = 1,
         unit: str | None = None, **fields: Any) -> EBomLine:
    """An eBOM line; the unit defaults to the part's base unit (see BASE_UNITS)."""
    base = fields.pop("part_base_unit", base_unit_of(part))
    return EBomLine(id=line_id, parent_part=parent, find_number=find_number, part=part,
                    quantity=Decimal(str(quantity)), unit=unit or base, part_base_unit=base,
                    **fields)


def ebom(lines: Iterable[EBomLine], root: str = "TOP", **fields: Any) -> EBom:
    by_parent: dict[str, list[EBomLine]] = {}
    for item in lines:
        by_parent.setdefault(item.parent_part, []).append(item)
    return EBom(root_part=root, root_base_unit="pcs", lines_by_parent=by_parent, **fields)


def rule(rule_id: int, action: str, condition: Any = None, order: int | None = None,
         **params: Any) -> Rule:
    """A rule; no condition means every line ({"all": []})."""
    return Rule(id=rule_id, order=rule_id * 10 if order is None else order,
                name=f"rule {rule_id}", action=action,
                condition={"all": []} if condition is None else condition, params=params)


def eq(field: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": "eq", "value": value}


def context(plant_parts: Mapping[str, PlantPartData] | None = None,
            known_parts: Mapping[str, KnownPart] | None = None,
            part_conversions: Mapping[str, tuple[PartConversion, ...]] | None = None,
            ) -> PlantContext:
    return PlantContext(plant="P1", units=UNITS, plant_parts=plant_parts or {},
                        known_parts=known_parts or {}, part_conversions=part_conversions or {})
