"""The building blocks of the InvenTree fake: its error answers, DRF's field parsing, Django's
decimal validators, the list ordering and search, and the BOM amount parser. The HTTP side, and
the InvenTree sources followed, are in inventree_fake.py; every message here is the string of
the InvenTree, DRF or Django code named next to it."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

REQUIRED = object()  # a required serializer field
SKIP = object()  # a field neither required nor declared with a default: left as it is
INVALID_CHOICE = "Select a valid choice. That choice is not one of the available choices."


class ApiError(Exception):
    """An answer other than success; the server sends `status` with `body` as JSON."""

    def __init__(self, status: int, body: dict | None, headers: dict[str, str] | None = None):
        super().__init__(status, body)
        self.status, self.body, self.headers = status, body, headers or {}


class Invalid(Exception):
    """One field's error message."""


def not_found(model: str) -> ApiError:
    """DRF's answer to the Http404 of get_object_or_404."""
    return ApiError(404, {"detail": f"No {model} matches the given query."})


def bad_request(errors: dict[str, list[str]]) -> ApiError:
    if "__all__" in errors:  # InvenTree.exceptions.exception_handler renames Django's key
        errors["non_field_errors"] = errors.pop("__all__")
    return ApiError(400, errors)


# Serializer fields, with DRF's parsing rules and messages.
_TRUE = {"t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1", 1}
_FALSE = {"f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0", 0}


def boolean(value):
    if value is None:
        raise Invalid("This field may not be null.")
    if value is True or value is False:
        return value
    try:
        if value in _TRUE or value in _FALSE:
            return value in _TRUE
    except TypeError:
        pass
    raise Invalid("Must be a valid boolean.")


def char(max_length: int, *, blank: bool = True, null: bool = False) -> Callable:
    def parse(value):
        if value is None:
            if null:
                return None
            raise Invalid("This field may not be null.")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise Invalid("Not a valid string.")
        text = str(value).strip()
        if not text and not blank:
            raise Invalid("This field may not be blank.")
        if len(text) > max_length:
            raise Invalid(f"Ensure this field has no more than {max_length} characters.")
        return text
    return parse


def decimal(*, null: bool = False, positive: bool = False) -> Callable:
    """InvenTree.serializers.InvenTreeDecimalField (and BomItemSerializer.validate_quantity)."""
    def parse(value):
        if value is None:
            if null:
                return None
            raise Invalid("This field may not be null.")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise Invalid("Invalid value") from None
        if not number.is_finite():
            raise Invalid("Invalid value")
        if positive and number <= 0:
            raise Invalid("Quantity must be greater than zero")
        return number
    return parse


def number(value):
    if isinstance(value, bool) or value is None:
        raise Invalid("A valid number is required.")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise Invalid("A valid number is required.") from None


def related(table: dict, allowed: Callable[[dict], bool] = lambda record: True, *,
            null: bool = False) -> Callable:
    """DRF PrimaryKeyRelatedField over a queryset (filtered queryset: `allowed`)."""
    def parse(value):
        if value is None:
            if null:
                return None
            raise Invalid("This field may not be null.")
        try:
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise ValueError
            key = int(value)
        except ValueError:
            raise Invalid(f"Incorrect type. Expected pk value, received {type(value).__name__}.") \
                from None
        if key not in table or not allowed(table[key]):
            raise Invalid(f'Invalid pk "{value}" - object does not exist.')
        return key
    return parse


def parse(data, specs: list[tuple], *, partial: bool, model_defaults: dict | None = None) -> dict:
    """A serializer's to_internal_value: specs are (name, parser, REQUIRED | SKIP | declared
    default) in the serializer's field order. On create, InvenTreeModelSerializer first fills
    in the model's defaults for the fields not given (`model_defaults`)."""
    if not isinstance(data, dict):
        raise bad_request({"non_field_errors": [
            f"Invalid data. Expected a dictionary, but got {type(data).__name__}."]})
    data = {**(model_defaults or {}), **data}
    values, errors = {}, {}
    for name, parser, default in specs:
        if name in data:
            try:
                values[name] = parser(data[name])
            except Invalid as exc:
                errors[name] = [str(exc)]
        elif partial or default is SKIP:
            continue
        elif default is REQUIRED:
            errors[name] = ["This field is required."]
        else:
            values[name] = default
    if errors:
        raise bad_request(errors)
    return values


def decimal_errors(value, *, max_digits: int, places: int, maximum=None) -> list[str]:
    """Django's model DecimalField validators: MinValueValidator(0) (+ Max), DecimalValidator."""
    if value is None:
        return []
    messages = []
    if value < 0:
        messages.append("Ensure this value is greater than or equal to 0.")
    if maximum is not None and value > maximum:
        messages.append(f"Ensure this value is less than or equal to {maximum}.")
    digits_tuple, exponent = value.as_tuple()[1:]
    if exponent >= 0:
        digits, decimals = (len(digits_tuple) + exponent if digits_tuple != (0,) else 1), 0
    else:
        decimals = abs(exponent)
        digits = max(len(digits_tuple), decimals)
    if digits > max_digits:  # DecimalValidator raises its first failure only
        messages.append(f"Ensure that there are no more than {max_digits} digits in total.")
    elif decimals > places:
        messages.append(f"Ensure that there are no more than {places} decimal places.")
    elif digits - decimals > max_digits - places:
        messages.append(f"Ensure that there are no more than {max_digits - places} digits "
                        "before the decimal point.")
    return messages


def flag(q: dict, name: str, default: bool) -> bool:
    """A query flag as InvenTree reads it (InvenTree.helpers.str2bool)."""
    if name not in q:
        return default
    return str(q[name]).lower() in ("1", "y", "yes", "t", "true", "ok", "on")


def null_boolean(q: dict, name: str):
    """django-filter BooleanFilter (NullBooleanField): anything else means no filter."""
    return {"True": True, "true": True, "1": True, "False": False, "false": False, "0": False}.get(
        q.get(name, ""))


def normalize(value: Decimal) -> Decimal:
    """InvenTree.helpers.normalize."""
    value = Decimal(value).normalize()
    return value.quantize(Decimal(1)) if value == value.to_integral() else value.normalize()


def order(records: list[dict], param: str | None, fields: dict[str, list[Callable]],
          default: list[str]) -> list[dict]:
    """InvenTreeOrderingFilter: DRF's OrderingFilter (unknown terms dropped, else the view's
    default), aliases, then pk in the direction of the last term; NULLs as PostgreSQL sorts."""
    terms = [t.strip() for t in (param or "").split(",")]
    terms = [t for t in terms if (t[1:] if t.startswith("-") else t) in fields] or default
    result = sorted(records, key=lambda r: r["pk"], reverse=bool(terms)
                    and terms[-1].startswith("-"))
    for term in reversed(terms):
        for getter in reversed(fields[term.removeprefix("-")]):
            result.sort(key=lambda r, g=getter: (g(r) is None, g(r) if g(r) is not None else 0),
                        reverse=term.startswith("-"))
    return result


def search(records: list[dict], text: str | None, getters: list[Callable]) -> list[dict]:
    """DRF SearchFilter: every term must occur (icontains) in one of the search fields."""
    terms = [t for t in re.split(r"[\s,]+", text or "") if t]
    return [r for r in records if all(any(t.lower() in str(g(r) or "").lower() for g in getters)
                                      for t in terms)]


# BomItem amounts (InvenTree.conversion.convert_physical_value, reduced to SI prefixes of the
# sub-part's own unit: "200 mm" for a part in "m" is 0.2; anything else is not convertible).
_AMOUNT = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\W\d_][\w/^*]*)?$")
_PREFIXES = {"": Decimal(1), "k": Decimal(1000), "c": Decimal("0.01"), "m": Decimal("0.001"),
             "u": Decimal("0.000001"), "\u00b5": Decimal("0.000001"), "n": Decimal("1e-9")}


def parse_amount(raw) -> tuple[Decimal, str] | None:
    """A number with an optional unit, or None when it is not one (BomItemSerializer.validate:
    "Invalid quantity format")."""
    match = _AMOUNT.match(str(raw).strip())
    return (Decimal(match.group(1)), match.group(2) or "") if match else None


def _unit_factor(unit: str, target: str) -> Decimal | None:
    for p1, f1 in _PREFIXES.items():
        for p2, f2 in _PREFIXES.items():
            if unit.startswith(p1) and target.startswith(p2) and unit[len(p1):] == target[len(p2):] \
                    and unit[len(p1):]:
                return f1 / f2
    return None


def bom_quantity(raw, part_units: str, allow_zero: bool) -> Decimal:
    """BomItem.recalculate_quantity(): the quantity, in the sub-part's units, of `raw_amount`."""
    number, unit = parse_amount(raw) or (None, "")
    if number is None:
        raise Invalid("Invalid quantity provided")
    if unit:
        if not part_units:
            raise Invalid("Invalid quantity - no units specified for part")
        factor = _unit_factor(unit, part_units)
        if factor is None:
            raise Invalid(f"Could not convert {str(raw).strip()} to {part_units}")
        number *= factor
    if allow_zero and number < 0:
        raise Invalid("Quantity must be greater than or equal to zero")
    if not allow_zero and number <= 0:
        raise Invalid("Quantity must be greater than zero")
    return number.quantize(Decimal("0.00001"), rounding=ROUND_HALF_UP)
