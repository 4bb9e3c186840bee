"""The lexical forms Thread writes into B2MML and reads back, shared by the XML and the JSON form.

Normalisation (what makes `parse(render(x)) == x` hold exactly):

- Decimals are written in plain notation, never floats or exponents: `format(d, "f")` without
  trailing fractional zeros ("2.500" → "2.5", "1E+2" → "100", "-0" → "0"). `Decimal` compares
  numerically, so the value read back equals the value written; only the spelling is normalised.
  Non-finite values (NaN, Infinity) have no xs:decimal form and are refused.
- Durations (xs:duration) carry minutes as hours, minutes and seconds ("PT1H2M30.5S"); xs:duration
  allows a fraction on the seconds only, so fractional minutes become seconds, exactly.
- Times are aware datetimes written with their own UTC offset; an offset xs:dateTime cannot express
  (seconds in it, beyond ±14:00) is written in UTC instead. They read back with a fixed offset:
  the same instant, so equal again (Python compares aware datetimes as instants; the exception is
  a zoneinfo local time inside a DST fold or gap, which PEP 495 makes unequal to any other zone's —
  Thread's times come from Django in UTC).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext

NS = "http://www.mesa.org/xml/B2MML"
RELEASE_ID = "7.01"  # the B2MML release the documents follow (the BOD's releaseID attribute)
MINUTE_UNIT = "min"  # Thread's unit code for the minutes of the time parameters

# SegmentParameter IDs of an operation's data that B2MML has no element for.
SETUP_TIME = "SetupTime"
RUN_TIME_PER_UNIT = "RunTimePerUnit"
QUEUE_TIME = "QueueTime"
MOVE_TIME = "MoveTime"
MILESTONE = "Milestone"
REPORTS_QUANTITY = "ReportsQuantity"
WORK_INSTRUCTIONS = "WorkInstructions"
DOCUMENT_REFERENCE = "DocumentReference"
# MaterialRequirementProperty ID of a material's revision label.
REVISION = "Revision"
# MaterialDefinitionProperty ID of a part's unit.
BASE_UNIT = "BaseUnitOfMeasure"
# OperationsRequest Description prefixes for the order data B2MML has no element for.
PRODUCTION_ORDER_PREFIX = "Production order: "
LINEAGE_PREFIX = "Lineage "
LINEAGE_SEPARATOR = ": "

# The XSD lexical forms (ASCII digits only: Python's Decimal and datetime would take others).
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)", re.ASCII)
_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?", re.ASCII)
_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", re.ASCII)
_MAX_XSD_OFFSET = timedelta(hours=14)


def decimal_text(value: Decimal) -> str:
    """The xs:decimal spelling of `value` (see the module docstring)."""
    if not value.is_finite():
        raise ValueError(f"{value} has no xs:decimal form")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def parse_decimal(text: str) -> Decimal:
    """An xs:decimal lexical value (ValueError otherwise). QuantityString and ValueString are
    strings in the schema, so the schema does not check them and this must."""
    if not _DECIMAL.fullmatch(text.strip()):
        raise ValueError(f"{text!r} is not a decimal number")
    return Decimal(text.strip())


def duration_text(minutes: Decimal) -> str:
    """xs:duration of `minutes` ("PT0S" for zero); negative durations are refused."""
    if not minutes.is_finite() or minutes < 0:
        raise ValueError(f"a duration of {minutes} minutes has no meaning")
    _, digits, exponent = minutes.as_tuple()
    with localcontext() as ctx:
        ctx.prec = max(ctx.prec, len(digits) + max(0, int(exponent)) + 6)
        seconds = minutes * 60
        hours, rest = divmod(seconds, 3600)
        mins, secs = divmod(rest, 60)
    parts = [(hours, "H"), (mins, "M"), (secs, "S")]
    body = "".join(f"{decimal_text(n)}{unit}" for n, unit in parts if n)
    return f"PT{body or '0S'}"


def parse_duration_minutes(text: str) -> Decimal:
    """Minutes of an xs:duration in days, hours, minutes and seconds (ValueError otherwise). Years
    and months have no fixed length in minutes and are refused, as are negative durations."""
    match = _DURATION.fullmatch(text.strip())
    if not match or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration in days, hours, minutes and seconds")
    days, hours, mins, secs = (Decimal(g) if g else Decimal(0) for g in match.groups())
    with localcontext() as ctx:
        ctx.prec = 60
        return days * 1440 + hours * 60 + mins + secs / 60


def datetime_text(value: datetime) -> str:
    """xs:dateTime of an aware datetime (see the module docstring)."""
    offset = value.utcoffset()
    if offset is None:
        raise ValueError(f"{value} has no time zone; B2MML times must say which instant they mean")
    if offset % timedelta(minutes=1) or abs(offset) > _MAX_XSD_OFFSET:
        value = value.astimezone(UTC)
    return value.isoformat()


def parse_datetime(text: str) -> datetime:
    """An xs:dateTime with a time zone, as an aware datetime (ValueError otherwise)."""
    if not _DATETIME.fullmatch(text.strip()):
        raise ValueError(f"{text!r} is not a date and time with a time zone")
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time") from None


def flag_text(value: bool) -> str:
    return "true" if value else "false"


def parse_flag(text: str) -> bool:
    """An xs:boolean ("true", "false", "1", "0"; ValueError otherwise)."""
    value = text.strip()
    if value not in ("true", "false", "1", "0"):
        raise ValueError(f"{text!r} is not true or false")
    return value in ("true", "1")
