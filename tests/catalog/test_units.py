from decimal import Decimal

import pytest

from thread.catalog.units import PartConversion, Unit, UnitMismatch, convert

UNITS = {
    "pcs": Unit("pcs", "count", Decimal("1")),
    "m": Unit("m", "length", Decimal("1")),
    "mm": Unit("mm", "length", Decimal("0.001")),
    "in": Unit("in", "length", Decimal("0.0254")),
    "kg": Unit("kg", "mass", Decimal("1")),
    "g": Unit("g", "mass", Decimal("0.001")),
}
CABLE = [PartConversion("m", "kg", Decimal("0.045"))]


@pytest.mark.parametrize(("qty", "src", "dst", "expected"), [
    ("1250", "mm", "m", "1.25"),
    ("1.25", "m", "mm", "1250"),
    ("250", "g", "kg", "0.25"),
    ("0.001", "kg", "g", "1"),
    ("1", "in", "mm", "25.4"),
    ("7", "pcs", "pcs", "7"),
])
def test_conversion_within_a_dimension_is_exact(qty, src, dst, expected):
    result = convert(Decimal(qty), src, dst, UNITS)
    assert result == Decimal(expected)
    assert isinstance(result, Decimal)


def test_conversion_round_trip_returns_the_same_decimal():
    assert convert(convert(Decimal("0.333"), "m", "mm", UNITS), "mm", "m", UNITS) == Decimal(
        "0.333")


def test_part_conversion_across_dimensions_both_ways():
    # this cable: 1 m = 0.045 kg
    assert convert(Decimal("2000"), "mm", "kg", UNITS, CABLE) == Decimal("0.09")
    assert convert(Decimal("90"), "g", "m", UNITS, CABLE) == Decimal("2")


def test_across_dimensions_without_part_conversion_is_refused():
    with pytest.raises(UnitMismatch, match=r"cannot convert mm \(length\) to kg \(mass\)"):
        convert(Decimal("1"), "mm", "kg", UNITS)


def test_unknown_unit_is_refused():
    with pytest.raises(UnitMismatch, match="unknown unit 'yd'"):
        convert(Decimal("1"), "yd", "m", UNITS)
