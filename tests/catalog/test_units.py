from decimal import Decimal

import pytest

from thread.catalog.units import (
    SPELLINGS,
    PartConversion,
    Unit,
    UnitCatalog,
    UnitMismatch,
    UnitNotRecognised,
    convert,
)

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


# --- Recognition -----------------------------------------------------------------------------

DEMO_UNITS = {"pcs": ("pieces", "count", "1"), "m": ("metre", "length", "1"),
              "cm": ("centimetre", "length", "0.01"), "mm": ("millimetre", "length", "0.001"),
              "kg": ("kilogram", "mass", "1"), "g": ("gram", "mass", "0.001"),
              "l": ("litre", "volume", "1"), "ml": ("millilitre", "volume", "0.001")}


def catalog_of(table=DEMO_UNITS, **kwargs) -> UnitCatalog:
    return UnitCatalog({code: Unit(code, dimension, Decimal(factor))
                        for code, (_, dimension, factor) in table.items()},
                       names={code: name for code, (name, _, _) in table.items()}, **kwargs)


@pytest.mark.parametrize(("written", "code"), [
    # codes, names and plurals; words in any case
    ("l", "l"), ("litre", "l"), ("litres", "l"), ("Liter", "l"), ("LITERS", "l"), ("ltr", "l"),
    ("L", "l"), ("kilograms", "kg"), ("Kilo", "kg"), ("kgs", "kg"), ("Kg", "kg"),
    ("metres", "m"), ("Meter", "m"), ("millimeters", "mm"), ("centimetre", "cm"),
    ("gram", "g"), ("grams", "g"), ("pieces", "pcs"), ("Piece", "pcs"),
    # trade and one-case codes (SAP, UN/ECE Rec. 20)
    ("EA", "pcs"), ("each", "pcs"), ("PCE", "pcs"), ("pc", "pcs"), ("PC", "pcs"), ("ST", "pcs"),
    ("Stk", "pcs"), ("H87", "pcs"), ("KGM", "kg"), ("MTR", "m"), ("LTR", "l"), ("MLT", "ml"),
    # one case: a code in another case; mixed case: only as listed
    ("M", "m"), ("MM", "mm"), ("KG", "kg"), ("G", "g"), ("ML", "ml"), ("mL", "ml"),
    ("CM", "cm"),
    # spaces at the edges do not count
    ("  litres ", "l"),
])
def test_a_unit_is_recognised_as_people_write_it(written, code):
    assert catalog_of().resolve(written) == code


@pytest.mark.parametrize("written", ["Mm", "Mg", "mG", "cM", "kG"])
def test_a_code_in_mixed_case_is_never_folded(written):
    # SI symbols carry meaning in their case: "Mm" is a megametre, "Mg" a megagram.
    with pytest.raises(UnitNotRecognised) as refused:
        catalog_of().resolve(written)
    assert refused.value.code == "unknown_unit"


def test_one_case_follows_the_one_case_vocabularies_where_mega_is_never_a_single_m():
    units = {**DEMO_UNITS, "mg": ("milligram", "mass", "0.000001"),
             "t": ("tonne", "mass", "1000")}
    catalog = catalog_of(units)
    assert [catalog.resolve(w) for w in ("MG", "mg", "MGM", "T", "tonnes")] == [
        "mg", "mg", "mg", "t", "t"]
    with pytest.raises(UnitNotRecognised):
        catalog.resolve("Mg")


def test_an_unknown_unit_is_refused_with_the_closest_units():
    with pytest.raises(UnitNotRecognised) as refused:
        catalog_of().resolve("litter")
    assert refused.value.code == "unknown_unit"
    assert refused.value.detail.startswith(
        "Unknown unit 'litter'; did you mean l (litre), ")
    assert refused.value.detail.endswith("? Known: cm, g, kg, l, m, ml, mm, pcs.")


def test_a_unit_like_no_known_one_is_refused_with_the_known_units():
    with pytest.raises(UnitNotRecognised) as refused:
        catalog_of().resolve("furlong")
    assert refused.value.detail == "Unknown unit 'furlong'; known: cm, g, kg, l, m, ml, mm, pcs."


def test_two_units_a_spelling_may_mean_are_named_not_guessed():
    units = {**DEMO_UNITS, "ea": ("each", "count", "1")}
    catalog = catalog_of(units)
    # Each unit keeps its own code and name ...
    assert (catalog.resolve("EA"), catalog.resolve("pcs"), catalog.resolve("Each")) == (
        "ea", "pcs", "ea")
    # ... but a built-in spelling both units take is refused, naming both.
    with pytest.raises(UnitNotRecognised) as refused:
        catalog.resolve("PCE")
    assert refused.value.code == "ambiguous_unit"
    assert refused.value.detail.startswith("Unit 'PCE' may mean ea (each) or pcs (pieces);")


def test_an_alias_comes_before_the_built_in_spellings_and_matches_in_any_case():
    catalog = catalog_of(aliases={"Stck.": "pcs", "ST": "m"})
    assert catalog.resolve("STCK.") == "pcs"
    assert catalog.resolve("st") == "m"  # the analysts' word over the built-in one


def test_a_systems_own_codes_come_first_and_only_for_that_system():
    erp = catalog_of(system_codes={"ST": "pcs", "M": "mm"})
    assert (erp.resolve("st"), erp.resolve("M"), erp.resolve("m")) == ("pcs", "mm", "mm")
    assert catalog_of().resolve("M") == "m"


def test_a_built_in_set_belongs_only_to_a_unit_of_its_dimension():
    # A count unit coded "t" (a tray) does not become a tonne.
    catalog = catalog_of({**DEMO_UNITS, "t": ("tray", "count", "1")})
    assert catalog.resolve("t") == "t"
    with pytest.raises(UnitNotRecognised):
        catalog.resolve("tonne")


def test_every_built_in_spelling_means_its_own_unit_and_no_other():
    table = {f"u{i}": (spelling.words[0], spelling.dimension, "1")
             for i, spelling in enumerate(SPELLINGS)}
    catalog = catalog_of(table)
    for i, spelling in enumerate(SPELLINGS):
        for written in (*spelling.words, *spelling.symbols):
            assert catalog.resolve(written) == f"u{i}", written


def test_a_refusal_is_remembered_and_the_answer_stays_the_same():
    catalog = catalog_of()
    for _ in range(2):
        with pytest.raises(UnitNotRecognised, match="furlong"):
            catalog.resolve("furlong")
    assert [catalog.resolve("litres") for _ in range(2)] == ["l", "l"]
