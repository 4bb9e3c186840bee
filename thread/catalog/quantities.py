"""Quantities as exact Decimals, the one parser every push uses (eBOM lines, change orders'
eBOMs, the admin's file import, ERP orders). Pure: no ORM.

Every stored quantity is Decimal(20, 6): at most 14 digits before the point and 6 after. The
checks look at a number's exponent before any arithmetic, so an extreme exponent
("1E-999999999", "1e999999999") is refused with a reason instead of rounding to 0 or raising
decimal.Overflow.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

QUANTITY_DECIMAL_PLACES = 6
QUANTITY_INTEGER_DIGITS = 14


class QuantityProblem(ValueError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail


def parse_quantity(value: Any) -> Decimal:
    """A quantity as an exact Decimal, or QuantityProblem. Floats (spreadsheet cells) are taken
    by their shortest repr, what the spreadsheet shows, never by their binary value."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise QuantityProblem("required", "A quantity is required.")
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        raise QuantityProblem("not_a_number", "A quantity must be a number.")
    try:
        quantity = Decimal(repr(value) if isinstance(value, float) else
                           value.strip() if isinstance(value, str) else value)
    except (InvalidOperation, ValueError):
        raise QuantityProblem("not_a_number", f"{value!r} is not a number.") from None
    if not quantity.is_finite():
        raise QuantityProblem("not_finite", "A quantity must be a finite number (not NaN or "
                                            "Infinity).")
    if quantity <= 0:
        raise QuantityProblem("not_positive", "A quantity must be greater than 0.")
    # adjusted(): the exponent of the first significant digit, computed without rounding
    if quantity.adjusted() >= QUANTITY_INTEGER_DIGITS:
        raise QuantityProblem("too_large", f"A quantity has at most {QUANTITY_INTEGER_DIGITS} "
                                           "digits before the decimal point.")
    if quantity.adjusted() < -QUANTITY_DECIMAL_PLACES:
        raise QuantityProblem("too_precise", f"A quantity has at most {QUANTITY_DECIMAL_PLACES} "
                                             "decimal places (this one would round to 0).")
    _, digits, exponent = quantity.as_tuple()
    # trailing zeros are no places: 1.500000000 is 1.5
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    if exponent + trailing < -QUANTITY_DECIMAL_PLACES:
        raise QuantityProblem("too_precise",
                              f"A quantity has at most {QUANTITY_DECIMAL_PLACES} decimal places.")
    return quantity
