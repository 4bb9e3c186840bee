"""The mBOM message as an ERP's items and BOM lines, in plain data: what the Odoo and ERPNext
connectors build their BOMs from (InvenTree's, with revisions and substitutes, is its own)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from .base import MappingError

BOM_CODE_PREFIX = "Thread "


@dataclass(frozen=True)
class Line:
    position: int
    part: str
    quantity: Decimal
    unit: str  # the ERP's unit name
    operation: str  # the routing operation's code where it is consumed ("": none named)


@dataclass(frozen=True)
class Plan:
    """What the ERP must hold for one mBOM message (plain data from the payload); units are
    the ERP's names, through the map the connector passes. Substitute lines are left out: the
    ERP's BOM has no substitutes."""

    plant: str
    product: str
    revision: str
    version: int
    unit: str  # the product's unit, the ERP's name
    names: Mapping[str, str]  # part number → name
    part_units: Mapping[str, str]  # part number → the ERP's unit name
    lines: tuple[Line, ...]

    @property
    def key(self) -> str:
        return f"{self.plant}:{self.product}"

    @property
    def code(self) -> str:
        return f"{BOM_CODE_PREFIX}{self.plant} rev {self.revision} mBOM v{self.version}"

    @classmethod
    def of(cls, payload: Mapping[str, Any], units: Mapping[str, str]) -> Plan:
        try:
            product, lines = payload["part"], list(payload["lines"])
        except (KeyError, TypeError) as exc:
            raise MappingError(f"not an mBOM message: {exc}") from None
        described = payload.get("parts") or {}

        def unit(code: str, where: str) -> str:
            if code not in units:
                raise MappingError(f"{where}: Thread's unit {code!r} has no unit of measure at "
                                   "the ERP — add the system's unit code in the catalog, or map "
                                   "it in the connector option 'units'")
            return units[code]

        part_units = {number: unit(info.get("base_unit") or "pcs", number)
                      for number, info in described.items()}
        part_units.setdefault(product, unit(payload.get("base_unit") or "pcs", product))
        planned = []
        for line in lines:
            if line.get("substitutes_for"):
                continue
            part_units.setdefault(line["part"], unit(line["unit"], line["part"]))
            planned.append(Line(int(line["position"]), line["part"],
                                number_of(line["quantity"]),
                                unit(line["unit"], f"line {line['position']}"),
                                line.get("operation") or ""))
        return cls(payload.get("plant") or "", product, payload.get("revision") or "",
                   int(payload.get("version") or 0), part_units[product],
                   {number: (described.get(number) or {}).get("name") or number
                    for number in part_units}, part_units, tuple(planned))


def number_of(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise MappingError(f"not a quantity: {value!r}") from None


def unit_map(defaults: Mapping[str, str], options: Mapping[str, Any],
             payload: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Thread unit code → the ERP's unit name: the connector's defaults, the system's unit codes
    the message carries, then the connector option 'units' (the last word)."""
    return {**defaults, **((payload or {}).get("units") or {}), **(options.get("units") or {})}


def at_precision(value: Any, options: Mapping[str, Any], default_digits: int) -> Decimal:
    """A quantity at the ERP's precision (option 'quantity_digits'), as it stores it."""
    digits = Decimal(1).scaleb(-int(options.get("quantity_digits") or default_digits))
    return Decimal(str(value or 0)).quantize(digits, rounding=ROUND_HALF_UP)
