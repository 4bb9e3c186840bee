"""Units over plain data: conversion, exact in Decimal, and recognition of written units.

Within a dimension every unit has a factor to the dimension's base unit (mm = 0.001 m, g =
0.001 kg); across dimensions only a part-specific conversion can help (this cable: 1 m =
0.045 kg). `UnitCatalog` tells which unit a person or a system means by "litres", "EA" or
"PCE" (docs/ebom-ingest.md, "How units are recognised"). The mapping engine and the eBOM
parser use this module too, so it holds no ORM.
"""

from __future__ import annotations

import difflib
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


# --- Recognition -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Spellings:
    """How people and systems write one unit. Words (names, trade words) match in any case and
    in the plural; symbols match as written, or in another case only when written all in one
    case, so "ML" is a millilitre but "Mg" (SI's megagram) is never a milligram."""

    dimension: str
    words: tuple[str, ...]
    symbols: tuple[str, ...] = ()


# The usual spellings, SAP's and UN/ECE Recommendation 20's codes among them. A set is Thread's
# unit of that dimension whose code or name is one of its spellings; sets no unit takes are
# inert. Analysts add the rest as aliases (data), systems their own codes (a unit map).
SPELLINGS = (
    Spellings("count", ("piece", "pcs", "pc", "pce", "each", "ea", "st", "stk", "stück", "nos"),
              ("H87", "C62")),
    Spellings("length", ("metre", "meter"), ("m", "MTR")),
    Spellings("length", ("millimetre", "millimeter"), ("mm", "MMT")),
    Spellings("length", ("centimetre", "centimeter"), ("cm", "CMT")),
    Spellings("length", ("kilometre", "kilometer"), ("km", "KMT")),
    Spellings("length", ("inch",), ("in", "INH")),
    Spellings("length", ("foot", "feet"), ("ft", "FOT")),
    Spellings("mass", ("kilogram", "kilogramme", "kilo"), ("kg", "Kg", "kgs", "KGM")),
    Spellings("mass", ("gram", "gramme"), ("g", "GRM")),
    Spellings("mass", ("milligram", "milligramme"), ("mg", "MGM")),
    Spellings("mass", ("tonne", "metric ton"), ("t", "TNE")),
    Spellings("mass", ("pound",), ("lb", "lbs", "LBR")),
    Spellings("volume", ("litre", "liter", "ltr"), ("l", "L")),
    Spellings("volume", ("millilitre", "milliliter"), ("ml", "mL", "MLT")),
    Spellings("volume", ("cubic metre", "cubic meter"), ("m3", "m³", "MTQ")),
    Spellings("area", ("square metre", "square meter", "sqm"), ("m2", "m²", "MTK")),
    Spellings("time", ("second",), ("s", "sec", "SEC")),
    Spellings("time", ("minute",), ("min", "MIN")),
    Spellings("time", ("hour",), ("h", "hr", "hrs", "HUR")),
)

MAX_KNOWN_SHOWN = 30
MAX_WRITTEN_LENGTH = 64  # the longest alias; a longer text is no unit


class UnitNotRecognised(ValueError):
    """A written unit that means no unit (`unknown_unit`) or several (`ambiguous_unit`)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail


def _one_case(text: str) -> bool:
    return text == text.lower() or text == text.upper()


def _forms(word: str) -> tuple[str, str]:
    """A word and its plural, lower-cased ("inch", "inches")."""
    word = word.lower()
    return word, word + ("es" if word.endswith(("s", "x", "ch", "sh")) else "s")


def _index(pairs: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    index: dict[str, set[str]] = {}
    for key, code in pairs:
        index.setdefault(key, set()).add(code)
    return index


class UnitCatalog:
    """Which of Thread's units a written unit means. The steps, first match wins:

    1. the calling system's own code (its unit map), in any case;
    2. a unit's code exactly as written;
    3. an analyst's alias, in any case;
    4. a unit's code in another case when written all in one case ("KG", "ML"), or its name
       or the name's plural in any case;
    5. the built-in spellings (`SPELLINGS`).

    A step that finds two units refuses the spelling as ambiguous, naming both, rather than
    guess; a spelling no step finds is refused with the closest known spellings. Codes and
    symbols keep their case when written in mixed case, where SI's case carries meaning ("Mg"
    is a megagram, "mg" a milligram); written all in one case they follow the one-case
    vocabularies (SAP, UN/ECE, UCUM's case-insensitive symbols), where "MG" is a milligram
    and a mega is never a single "M".
    """

    def __init__(self, units: Mapping[str, Unit], *, names: Mapping[str, str],
                 aliases: Mapping[str, str] | None = None,
                 system_codes: Mapping[str, str] | None = None,
                 spellings: Iterable[Spellings] = SPELLINGS) -> None:
        self.units = units
        self.names = names
        self._system = {code.lower(): unit for code, unit in (system_codes or {}).items()}
        self._aliases = {alias.lower(): unit for alias, unit in (aliases or {}).items()}
        self._codes = _index((code.lower(), code) for code in units)
        self._names = _index((form, code) for code, name in names.items()
                             for form in _forms(name))
        self._words: dict[str, set[str]] = {}
        self._symbols: dict[str, set[str]] = {}
        self._folded_symbols: dict[str, set[str]] = {}
        for spelling in spellings:
            for code in self._taking(spelling):
                for word in spelling.words:
                    for form in _forms(word):
                        self._words.setdefault(form, set()).add(code)
                for symbol in spelling.symbols:
                    self._symbols.setdefault(symbol, set()).add(code)
                    self._folded_symbols.setdefault(symbol.lower(), set()).add(code)
        self._memo: dict[str, tuple[str, str]] = {}  # written -> ("", code) or (problem, detail)

    def _taking(self, spelling: Spellings) -> list[str]:
        """Thread's units that a built-in set of spellings belongs to."""
        words = {form for word in spelling.words for form in _forms(word)}
        symbols = set(spelling.symbols)
        folded = {symbol.lower() for symbol in symbols}

        def spelt(text: str) -> bool:
            lower = text.lower()
            return lower in words or text in symbols or (_one_case(text) and lower in folded)

        return [code for code, unit in self.units.items() if unit.dimension == spelling.dimension
                and (spelt(code) or spelt(self.names.get(code, "")))]

    def resolve(self, written: str) -> str:
        """The code of the unit `written` means, or UnitNotRecognised."""
        key = " ".join(written.split())
        if key not in self._memo:
            self._memo[key] = self._lookup(key)
        problem, answer = self._memo[key]
        if problem:
            raise UnitNotRecognised(problem, answer)
        return answer

    def _lookup(self, written: str) -> tuple[str, str]:
        if not written:
            return "required", "A unit is required."
        if len(written) > MAX_WRITTEN_LENGTH:
            return "unknown_unit", (f"Unknown unit {written[:MAX_WRITTEN_LENGTH]!r}…: a unit is "
                                    f"written in at most {MAX_WRITTEN_LENGTH} characters.")
        lower, one_case = written.lower(), _one_case(written)
        steps = (
            {self._system[lower]} if lower in self._system else set(),
            {written} if written in self.units else set(),
            {self._aliases[lower]} if lower in self._aliases else set(),
            (self._codes.get(lower, set()) if one_case else set()) | self._names.get(lower, set()),
            self._words.get(lower, set()) | self._symbols.get(written, set())
            | (self._folded_symbols.get(lower, set()) if one_case else set()),
        )
        for found in steps:
            if len(found) == 1:
                return "", next(iter(found))
            if found:
                return "ambiguous_unit", (
                    f"Unit {written!r} may mean {' or '.join(self.describe(c) for c in sorted(found))}"
                    "; send the unit's code, or ask an analyst to add an alias.")
        return "unknown_unit", self._unknown(written)

    def describe(self, code: str) -> str:
        name = self.names.get(code, "")
        return f"{code} ({name})" if name and name != code else code

    def _unknown(self, written: str) -> str:
        spellings = _index([*self._system.items(), *self._aliases.items(), *(
            (key, code) for index in (self._codes, self._names, self._words, self._folded_symbols)
            for key, codes in index.items() for code in codes)])
        close: list[str] = []
        for match in difflib.get_close_matches(written.lower(), spellings, n=10, cutoff=0.6):
            close += sorted(set(spellings[match]) - set(close))
        known = sorted(self.units)
        shown = ", ".join(known[:MAX_KNOWN_SHOWN]) + (
            f", … ({len(known)} in all)" if len(known) > MAX_KNOWN_SHOWN else "")
        if close:
            guesses = ", ".join(self.describe(code) for code in close[:3])
            return f"Unknown unit {written!r}; did you mean {guesses}? Known: {shown}."
        return f"Unknown unit {written!r}; known: {shown}."
