"""What comes out: explosion, the accountability check (and that it catches faults), line
consolidation, rounding, and the JSON form."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal as D

import pytest

from thread.bom.engine import (
    Disposition,
    KnownPart,
    Lineage,
    MBom,
    MBomLine,
    Rounding,
    StructureError,
    check_accountability,
    consolidate_lines,
    explode,
    map_ebom,
    result_to_dict,
    round_quantity,
)
from thread.catalog.units import PartConversion, UnitMismatch

from .test_engine_support import UNITS, context, ebom, eq, line, rule

STRUCTURE = ebom([
    line(1, "TOP", 10, "KIT", 2, item_type="phantom"),
    line(2, "TOP", 20, "DOC", item_type="document"),
    line(3, "TOP", 30, "SUB", 3),
    line(4, "TOP", 40, "MOTOR", part_make_or_buy="buy"),
    line(5, "KIT", 10, "NUT", 4),
    line(6, "KIT", 20, "CAB-1", 250, "mm"),
    line(7, "SUB", 10, "KIT", item_type="phantom"),
    line(8, "SUB", 20, "NUT", 1),
    line(9, "MOTOR", 10, "ROTOR"),
])


# -- explode ----------------------------------------------------------------------------------


def test_explode_totals_terminal_items_in_base_units() -> None:
    assert explode(STRUCTURE, UNITS) == {
        "NUT": D(8 + 3 * (4 + 1)), "CAB-1": D("0.5") + 3 * D("0.25"), "DOC": D(1),
        "MOTOR": D(1)}


def test_explode_with_predicates() -> None:
    assert explode(STRUCTURE, UNITS, is_bought=lambda item: item.part in ("MOTOR", "SUB"),
                   is_excluded=lambda item: item.item_type == "document") == {
        "NUT": D(8), "CAB-1": D("0.5"), "SUB": D(3), "MOTOR": D(1)}


def test_explode_converts_across_dimensions_with_part_conversions() -> None:
    structure = ebom([line(1, "TOP", 10, "CAB-1", 90, "g")])
    conversions = {"CAB-1": (PartConversion("m", "kg", D("0.045")),)}
    assert explode(structure, UNITS, conversions) == {"CAB-1": D(2)}
    with pytest.raises(UnitMismatch):
        explode(structure, UNITS)


def test_explode_refuses_a_cycle() -> None:
    with pytest.raises(StructureError, match="part A contains itself"):
        explode(ebom([line(1, "TOP", 10, "A"), line(2, "A", 10, "A")]), UNITS)


# -- accountability ---------------------------------------------------------------------------


RULES = [rule(1, "exclude", eq("item_type", "document")), rule(2, "consolidate")]


def test_a_mapping_accounts_for_every_occurrence_exactly_once() -> None:
    result = map_ebom(STRUCTURE, RULES, context())
    assert check_accountability(STRUCTURE, result) == []
    assert result.dispositions() == {
        5: (Disposition("fed", "TOP", (1, 5), position=10),
            Disposition("fed", "SUB", (7, 5), position=10)),
        6: (Disposition("fed", "TOP", (1, 6), position=20),
            Disposition("fed", "SUB", (7, 6), position=20)),
        3: (Disposition("fed", "TOP", (3,), position=30),),
        4: (Disposition("fed", "TOP", (4,), position=40),),
        8: (Disposition("fed", "SUB", (8,), position=10),),
        1: (Disposition("flattened", "TOP", (1,)),),
        2: (Disposition("excluded", "TOP", (2,), rule_id=1),),
        9: (Disposition("inside_bought", "TOP", (4, 9), bought_line_id=4),),
        7: (Disposition("flattened", "SUB", (7,)),),
    }


def _problems(result: object, structure: object = STRUCTURE) -> list[tuple[object, ...]]:
    return [(p.message, p.line_id, p.assembly, p.path)
            for p in check_accountability(structure, result)]  # type: ignore[arg-type]


def test_the_check_finds_a_lost_occurrence() -> None:
    result = map_ebom(STRUCTURE, RULES, context())
    tampered = replace(result, set_aside=tuple(
        d for d in result.set_aside if d.kind != "inside_bought"))
    assert _problems(tampered) == [("occurrence not accounted for", 9, "TOP", (4, 9))]


def test_the_check_finds_an_occurrence_counted_twice() -> None:
    result = map_ebom(STRUCTURE, RULES, context())
    tampered = replace(result, set_aside=(*result.set_aside, result.set_aside[0]))
    assert _problems(tampered) == [("occurrence accounted for twice", 1, "TOP", (1,))]


def test_the_check_finds_an_mbom_line_fed_by_nothing_and_a_wrong_fate() -> None:
    result = map_ebom(STRUCTURE, RULES, context())
    top = result.mboms["TOP"]
    orphan = top.lines[0]._replace(lineage=Lineage((), ()))
    mboms = {**result.mboms, "TOP": MBom("TOP", "pcs", (orphan, *top.lines[1:]))}
    wrong = [d._replace(kind="excluded", rule_id=1) if d.kind == "inside_bought" else d
             for d in result.set_aside]
    assert _problems(replace(result, mboms=mboms, set_aside=tuple(wrong))) == [
        ("occurrence not accounted for", 5, "TOP", (1, 5)),
        ("excluded, but its ancestor makes it inside_bought", 9, "TOP", (4, 9)),
        ("mBOM line 10 (NUT) is fed by no eBOM line", None, "TOP", ()),
    ]


def test_the_check_finds_missing_mboms_and_misfiled_lines() -> None:
    result = map_ebom(STRUCTURE, RULES, context())
    without_sub = {part: mbom for part, mbom in result.mboms.items() if part != "SUB"}
    assert _problems(replace(result, mboms=without_sub)) == [
        ("made subassembly SUB has no mBOM", 3, "TOP", (3,)),
        ("eBOM line 7 (SUB > KIT) is not reachable from the top-level part", 7, None, ()),
        ("eBOM line 8 (SUB > NUT) is not reachable from the top-level part", 8, None, ()),
        ("disposition flattened for an occurrence that does not exist", 7, "SUB", (7,)),
    ]
    top = result.mboms["TOP"]
    nut, cable = top.lines[:2]
    swapped = (nut._replace(lineage=cable.lineage), cable._replace(lineage=nut.lineage),
               *top.lines[2:])
    assert _problems(replace(result, mboms={**result.mboms, "TOP": MBom("TOP", "pcs", swapped)}))\
        == [("fed into position 20, which holds CAB-1", 5, "TOP", (1, 5)),
            ("fed into position 10, which holds NUT", 6, "TOP", (1, 6))]


def test_the_check_finds_lines_outside_the_structure() -> None:
    result = map_ebom(STRUCTURE, RULES, context())
    bigger = replace(STRUCTURE, lines_by_parent={**STRUCTURE.lines_by_parent,
                                                 "ORPHAN": [line(99, "ORPHAN", 10, "X")]})
    assert _problems(result, bigger) == [
        ("eBOM line 99 (ORPHAN > X) is not reachable from the top-level part", 99, None, ())]


# -- consolidation and rounding ---------------------------------------------------------------


def _mbom_line(position: int, part: str, quantity: str, **fields: object) -> MBomLine:
    values: dict[str, object] = {
        "position": position, "part": part, "quantity": D(quantity), "unit": "pcs",
        "item_type": "component", "make_or_buy": "make", "unrounded_quantity": D(quantity),
        "lineage": Lineage((position,), ())}
    values.update(fields)
    return MBomLine(**values)  # type: ignore[arg-type]


def test_consolidate_lines_merges_sums_rounds_and_renumbers() -> None:
    up = Rounding(multiple=D(10))
    lines = (
        _mbom_line(10, "A", "10", rounding=up, unrounded_quantity=D(4),
                   reference_designators=("R1",)),
        _mbom_line(20, "B", "1"),
        _mbom_line(30, "A", "10", rounding=up, unrounded_quantity=D(3),
                   reference_designators=("R2",), lineage=Lineage((5, 30), (7,))),
        _mbom_line(40, "A", "3"),
    )
    merged = consolidate_lines(lines)
    assert merged == (
        _mbom_line(10, "A", "10", rounding=up, unrounded_quantity=D(7),
                   reference_designators=("R1", "R2"),
                   lineage=Lineage((10, 5, 30), (7,), ((10,), (5, 30)))),
        _mbom_line(20, "B", "1", lineage=Lineage((20,), ())),
        _mbom_line(30, "A", "3", lineage=Lineage((40,), ())),
    )
    assert consolidate_lines(merged) == merged


@pytest.mark.parametrize(("quantity", "multiple", "expected"), [
    ("0.31", "0.25", "0.5"), ("0.5", "0.25", "0.5"), ("0.000001", "100", "100"),
    ("250", "100", "300"),
])
def test_round_up_to_a_multiple(quantity: str, multiple: str, expected: str) -> None:
    assert round_quantity(D(quantity), Rounding(multiple=D(multiple))) == D(expected)


@pytest.mark.parametrize(("quantity", "rounding", "expected"), [
    ("1.001", Rounding(decimals=2, mode="up"), "1.01"),
    ("1.005", Rounding(decimals=2, mode="half_up"), "1.01"),
    ("1.004", Rounding(decimals=2, mode="half_up"), "1.00"),
    ("7", Rounding(decimals=0), "7"),
    ("7.0001", Rounding(decimals=0), "8"),
])
def test_round_to_decimals(quantity: str, rounding: Rounding, expected: str) -> None:
    assert str(round_quantity(D(quantity), rounding)) == expected


# -- JSON -------------------------------------------------------------------------------------


def test_result_to_dict_is_plain_json() -> None:
    structure = ebom([line(1, "TOP", 10, "CAB-1", 1500, "mm"), line(2, "TOP", 20, "DOC")])
    result = map_ebom(structure, [
        rule(1, "convert_unit", eq("part", "CAB-1"), unit="m", round_up_to_multiple="0.5"),
        rule(2, "scrap", eq("part", "CAB-1"), scrap_percent=10),
        rule(3, "exclude", eq("part", "DOC")),
        rule(4, "add_item", part="ALT", quantity=1, unit="pcs"),
        rule(5, "set_erp_fields", eq("part", "CAB-1"), backflush=True),
    ], context(known_parts={"ALT": KnownPart(base_unit="pcs")}))
    data = result_to_dict(result)
    assert json.loads(json.dumps(data)) == data
    assert data == {
        "plant": "P1", "root_part": "TOP",
        "mboms": [{"part": "TOP", "base_unit": "pcs", "lines": [
            {"position": 10, "part": "CAB-1", "quantity": "2", "unit": "m",
             "item_type": "component", "make_or_buy": "make", "unrounded_quantity": "1.65",
             "rounding": {"multiple": "0.5"}, "scrap_percent": "10", "yield_percent": None,
             "operation": "", "erp_fields": {"backflush": True}, "reference_designators": [],
             "substitutes_for": None, "added_by_rule": None,
             "lineage": {"source_line_ids": [1], "rule_ids": [1, 2, 5], "paths": [[1]]}},
            {"position": 20, "part": "ALT", "quantity": "1", "unit": "pcs",
             "item_type": "component", "make_or_buy": "make", "unrounded_quantity": "1",
             "rounding": None, "scrap_percent": None, "yield_percent": None, "operation": "",
             "erp_fields": {}, "reference_designators": [], "substitutes_for": None,
             "added_by_rule": 4, "lineage": {"source_line_ids": [], "rule_ids": [4],
                                             "paths": []}},
        ]}],
        "set_aside": [{"kind": "excluded", "assembly": "TOP", "path": [2], "rule_id": 3,
                       "position": None, "bought_line_id": None}],
        "warnings": [],
    }


def test_decimals_in_json_are_never_exponents() -> None:
    structure = ebom([line(1, "TOP", 10, "SHT-1", "1E+3", "kg")])
    data = result_to_dict(map_ebom(structure, [], context()))
    assert data["mboms"][0]["lines"][0]["quantity"] == "1000"
