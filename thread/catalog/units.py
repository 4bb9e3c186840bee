"""Unit conversion over plain data, exact in Decimal.

Within a dimension every unit has a factor to the dimension's base unit (mm = 0.001 m, g =
0.001 kg); across dimensions only a part-specific conversion can help (this cable: 1 m =
0.045 kg). The mapping engine uses this module too, so it holds no ORM.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Unit:
    code: str
    dimension: str
    factor: Decimal  # how many of the dimension's base unit one of this unit is


@dataclass(frozen=True, slots=True)
class PartConversion:
    from_unit: str
    to_unit: str
    factor: Decimal  # 1 from_unit = factor to_unit (for this part)


class UnitMismatch(ValueError):
    pass


def convert(
    quantity: Decimal,
    from_code: str,
    to_code: str,
    units: Mapping[str, Unit],
    part_conversions: Iterable[PartConversion] = (),
) -> Decimal:
    if from_code == to_code:
        return quantity
    try:
        source, target = units[from_code], units[to_code]
    except KeyError as exc:
        raise UnitMismatch(f"unknown unit {exc.args[0]!r}") from None
    if source.dimension == target.dimension:
        return quantity * source.factor / target.factor
    for conversion in part_conversions:
        a, b = units.get(conversion.from_unit), units.get(conversion.to_unit)
        if a is None or b is None:
            continue
        if a.dimension == source.dimension and b.dimension == target.dimension:
            in_a = quantity * source.factor / a.factor
            return in_a * conversion.factor * b.factor / target.factor
        if b.dimension == source.dimension and a.dimension == target.dimension:
            in_b = quantity * source.factor / b.factor
            return in_b / conversion.factor * a.factor / target.factor
    raise UnitMismatch(
        f"cannot convert {from_code} ({source.dimension}) to {to_code} ({target.dimension})"
    )
