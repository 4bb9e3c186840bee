"""Explosion of an eBOM into total quantities of its terminal items.

This is the reference the mBOMs are measured against: with no scrap, rounding or added items,
the mBOMs of an eBOM, multiplied up through their made assemblies, hold the same total of every
terminal item as this explosion of the eBOM.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal

from thread.catalog.units import PartConversion, Unit, convert

from .types import BUY, PHANTOM, EBom, EBomLine, StructureError

LinePredicate = Callable[[EBomLine], bool]


def bought_by_default(line: EBomLine) -> bool:
    """A line's own make/buy: a phantom is always flattened, so never a bought item."""
    return line.part_make_or_buy == BUY and line.item_type != PHANTOM


def explode(ebom: EBom, units: Mapping[str, Unit],
            part_conversions: Mapping[str, Sequence[PartConversion]] | None = None, *,
            is_bought: LinePredicate = bought_by_default,
            is_excluded: LinePredicate | None = None) -> dict[str, Decimal]:
    """Total quantity of every terminal item per one base unit of the top-level part, each in
    its part's base unit.

    A terminal item is a line whose part has no eBOM children (a leaf part), or a bought
    subassembly (`is_bought`), whose children are inside it and not counted. Every other line
    with children counts through its children, whatever its item type. Lines for which
    `is_excluded` holds count for nothing, with everything below them. Raises UnitMismatch if
    a line's unit cannot be expressed in its part's base unit, StructureError on a cycle.
    """
    conversions = part_conversions or {}
    lines_by_parent = ebom.lines_by_parent
    per_part: dict[str, dict[str, Decimal]] = {}
    on_path: set[str] = set()

    def in_base_unit(line: EBomLine) -> Decimal:
        return convert(line.quantity, line.unit, line.part_base_unit, units,
                       conversions.get(line.part, ()))

    def totals(part: str) -> dict[str, Decimal]:
        """Terminal totals per one base unit of `part`; once per part, as structure is shared."""
        found = per_part.get(part)
        if found is not None:
            return found
        if part in on_path:
            raise StructureError(f"part {part} contains itself")
        on_path.add(part)
        found = {}
        for line in lines_by_parent.get(part, ()):
            if is_excluded is not None and is_excluded(line):
                continue
            quantity = in_base_unit(line)
            if lines_by_parent.get(line.part) and not is_bought(line):
                for item, below in totals(line.part).items():
                    found[item] = found.get(item, Decimal(0)) + quantity * below
            else:
                found[line.part] = found.get(line.part, Decimal(0)) + quantity
        on_path.discard(part)
        per_part[part] = found
        return found

    return dict(totals(ebom.root_part))
