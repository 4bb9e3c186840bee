"""map_ebom by example: the structure rules, each action, warnings, and the result's lineage."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from thread.bom.engine import (
    Disposition,
    KnownPart,
    Lineage,
    MappingResult,
    MBomLine,
    PlantPartData,
    Rounding,
    StructureError,
    map_ebom,
)
from thread.catalog.units import PartConversion

from .test_engine_support import context, ebom, eq, line, rule

ALTERNATES = {"ALT-1": KnownPart(base_unit="pcs", make_or_buy="buy"),
              "CAB-ALT": KnownPart(base_unit="m"),
              "LBL-1": KnownPart(base_unit="pcs", make_or_buy="buy"),
              "GLU-9": KnownPart(base_unit="kg")}


def summary(result: MappingResult, assembly: str = "TOP") -> list[tuple[Any, ...]]:
    """(position, part, quantity, unit, make/buy) of each line of one mBOM."""
    return [(item.position, item.part, item.quantity, item.unit, item.make_or_buy)
            for item in result.mboms[assembly].lines]


def warnings(result: MappingResult) -> list[tuple[Any, ...]]:
    return [(w.code, w.assembly, w.line_id, w.rule_id) for w in result.warnings]


# -- structure --------------------------------------------------------------------------------


def test_a_phantom_dissolves_into_its_parent_with_quantities_multiplied() -> None:
    result = map_ebom(ebom([
        line(1, "TOP", 10, "A"),
        line(2, "TOP", 20, "KIT", 3, item_type="phantom"),
        line(3, "TOP", 30, "B"),
        line(4, "KIT", 10, "SCREW", 4),
        line(5, "KIT", 20, "CAB-1", 250, "mm"),
    ]), [], context())
    assert summary(result) == [
        (10, "A", D(1), "pcs", "make"),
        (20, "SCREW", D(12), "pcs", "make"),
        (30, "CAB-1", D(750), "mm", "make"),
        (40, "B", D(1), "pcs", "make"),
    ]
    assert [item.lineage for item in result.mboms["TOP"].lines] == [
        Lineage((1,), ()), Lineage((2, 4), ()), Lineage((2, 5), ()), Lineage((3,), ())]
    assert result.mboms["TOP"].lines[1].lineage.paths == ((2, 4),)
    assert list(result.mboms) == ["TOP"]
    assert result.set_aside == (Disposition("flattened", "TOP", (2,)),)
    assert result.warnings == ()


def test_children_are_per_base_unit_of_a_flattened_parent() -> None:
    """A harness measured in m: 500 mm of it carries half of what one metre does."""
    result = map_ebom(ebom([
        line(1, "TOP", 10, "CAB-HARNESS", 500, "mm", item_type="phantom"),
        line(2, "CAB-HARNESS", 10, "CLIP", 4),
    ]), [], context())
    assert summary(result) == [(10, "CLIP", D(2), "pcs", "make")]


def test_a_bought_subassembly_is_a_leaf_and_its_children_are_inside_it() -> None:
    result = map_ebom(ebom([
        line(1, "TOP", 10, "MOTOR", 2, part_make_or_buy="buy"),
        line(2, "MOTOR", 10, "ROTOR"),
        line(3, "ROTOR", 10, "SHAFT"),
    ]), [], context())
    assert summary(result) == [(10, "MOTOR", D(2), "pcs", "buy")]
    assert list(result.mboms) == ["TOP"]
    assert result.set_aside == (
        Disposition("inside_bought", "TOP", (1, 2), bought_line_id=1),
        Disposition("inside_bought", "TOP", (1, 2, 3), bought_line_id=1),
    )


def test_a_made_subassembly_gets_one_mbom_however_often_it_is_used() -> None:
    result = map_ebom(ebom([
        line(1, "TOP", 10, "SUB", 2),
        line(2, "TOP", 20, "KIT", item_type="phantom"),
        line(3, "KIT", 10, "SUB", 5),
        line(4, "SUB", 10, "BOLT", 3),
    ]), [], context())
    assert summary(result) == [(10, "SUB", D(2), "pcs", "make"), (20, "SUB", D(5), "pcs", "make")]
    assert summary(result, "SUB") == [(10, "BOLT", D(3), "pcs", "make")]
    assert list(result.mboms) == ["TOP", "SUB"]
    assert result.mboms["SUB"].lines[0].lineage == Lineage((4,), ())


def test_positions_follow_find_numbers_not_input_order() -> None:
    result = map_ebom(ebom([
        line(3, "TOP", 30, "C"),
        line(1, "TOP", 10, "A"),
        line(4, "KIT", 20, "K2"),
        line(2, "TOP", 20, "KIT", item_type="phantom"),
        line(5, "KIT", 10, "K1"),
    ]), [], context())
    assert [(item.position, item.part) for item in result.mboms["TOP"].lines] == [
        (10, "A"), (20, "K1"), (30, "K2"), (40, "C")]


def test_a_part_that_contains_itself_is_refused() -> None:
    with pytest.raises(StructureError, match=r"part A contains itself \(eBOM line 3 under B\)"):
        map_ebom(ebom([line(1, "TOP", 10, "A"), line(2, "A", 10, "B"), line(3, "B", 10, "A")]),
                 [], context())


def test_a_phantom_without_children_stays_a_line() -> None:
    result = map_ebom(ebom([line(1, "TOP", 10, "P", 2, item_type="phantom")]), [], context())
    assert summary(result) == [(10, "P", D(2), "pcs", "make")]
    assert warnings(result) == [("nothing_to_flatten", "TOP", 1, None)]
    assert result.warnings[0].message == "P has no eBOM children to flatten; kept as a component"


def test_a_phantom_whose_unit_cannot_be_converted_stays_a_line_and_is_made() -> None:
    result = map_ebom(ebom([
        line(1, "TOP", 10, "CAB-KIT", 2, "pcs", item_type="phantom"),
        line(2, "CAB-KIT", 10, "CLIP", 4),
    ]), [], context())
    assert summary(result) == [(10, "CAB-KIT", D(2), "pcs", "make")]
    assert summary(result, "CAB-KIT") == [(10, "CLIP", D(4), "pcs", "make")]
    assert warnings(result) == [("flatten_unit_mismatch", "TOP", 1, None)]
    assert result.warnings[0].message == (
        "cannot flatten CAB-KIT: cannot convert pcs (count) to m (length); kept as a component")


def test_an_empty_top_level_gets_an_empty_mbom_and_a_warning() -> None:
    result = map_ebom(ebom([]), [], context())
    assert result.mboms["TOP"].lines == ()
    assert warnings(result) == [("empty_mbom", "TOP", None, None)]


# -- levels and parents -----------------------------------------------------------------------


def test_level_counts_eBOM_depth_from_the_made_assembly() -> None:
    """Flattening does not renumber; a made subassembly's own lines start again at 1."""
    result = map_ebom(ebom([
        line(1, "TOP", 10, "A"),
        line(2, "TOP", 20, "KIT", item_type="phantom"),
        line(3, "KIT", 10, "B"),
        line(4, "TOP", 30, "SUB"),
        line(5, "SUB", 10, "C"),
    ]), [rule(1, "assign_operation", eq("level", 1), operation="L1"),
         rule(2, "assign_operation", eq("level", 2), operation="L2")], context())
    assert [(i.part, i.operation) for i in result.mboms["TOP"].lines] == [
        ("A", "L1"), ("B", "L2"), ("SUB", "L1")]
    assert [(i.part, i.operation) for i in result.mboms["SUB"].lines] == [("C", "L1")]


def test_parent_fields_name_the_eBOM_parent_even_when_flattened() -> None:
    result = map_ebom(ebom([
        line(1, "TOP", 10, "A"),
        line(2, "TOP", 20, "KIT", item_type="phantom", part_category="kit"),
        line(3, "KIT", 10, "B"),
    ], root_category="machine"), [
        rule(1, "assign_operation", eq("parent.category", "kit"), operation="KIT"),
        rule(2, "assign_operation", eq("parent.part", "TOP"), order=5, operation="TOP"),
        rule(3, "set_erp_fields", eq("parent.category", "machine"), supply_area="M"),
    ], context())
    assert [(i.part, i.operation, dict(i.erp_fields)) for i in result.mboms["TOP"].lines] == [
        ("A", "TOP", {"supply_area": "M"}), ("B", "KIT", {})]


# -- exclude and flatten ----------------------------------------------------------------------


def test_exclude_removes_the_line_and_everything_below_it() -> None:
    result = map_ebom(ebom([
        line(1, "TOP", 10, "A"),
        line(2, "TOP", 20, "DOC", item_type="document"),
        line(3, "TOP", 30, "REF", 2),
        line(4, "REF", 10, "X"),
        line(5, "X", 10, "Y"),
    ]), [rule(1, "exclude", eq("item_type", "document")),
         rule(2, "exclude", eq("part", "REF")),
         rule(3, "scrap", scrap_percent=10)], context())
    assert summary(result) == [(10, "A", D("1.1"), "pcs", "make")]
    assert result.set_aside == (
        Disposition("excluded", "TOP", (2,), rule_id=1),
        Disposition("excluded", "TOP", (3,), rule_id=2),
        Disposition("excluded", "TOP", (3, 4), rule_id=2),
        Disposition("excluded", "TOP", (3, 4, 5), rule_id=2),
    )
    assert list(result.mboms) == ["TOP"]


def test_the_first_matching_exclude_wins_over_every_other_rule() -> None:
    result = map_ebom(ebom([line(1, "TOP", 10, "DOC", item_type="document"),
                            line(2, "DOC", 10, "X")]), [
        rule(1, "flatten", order=1),
        rule(2, "exclude", eq("part", "DOC"), order=30),
        rule(3, "exclude", eq("item_type", "document"), order=20),
    ], context())
    assert result.mboms["TOP"].lines == ()
    assert result.set_aside == (Disposition("excluded", "TOP", (1,), rule_id=3),
                                Disposition("excluded", "TOP", (1, 2), rule_id=3))


def test_flatten_moves_children_up_and_shows_in_their_lineage() -> None:
    result = map_ebom(ebom([
        line(1, "TOP", 10, "WELD-1", 2),
        line(2, "WELD-1", 10, "PLATE", 3),
        line(3, "WELD-1", 20, "WELD-2"),
        line(4, "WELD-2", 10, "BAR", 5),
    ]), [rule(7, "flatten", {"field": "part", "op": "glob", "value": "WELD-*"}),
         rule(8, "set_make_buy", eq("part", "WELD-1"), make_or_buy="buy"),
         rule(9, "assign_operation", eq("part", "BAR"), operation="0020")], context())
    assert summary(result) == [(10, "PLATE", D(6), "pcs", "make"),
                               (20, "BAR", D(10), "pcs", "make")]
    assert [i.lineage for i in result.mboms["TOP"].lines] == [
        Lineage((1, 2), (7,)), Lineage((1, 3, 4), (7, 7, 9))]
    assert result.set_aside == (Disposition("flattened", "TOP", (1,), rule_id=7),
                                Disposition("flattened", "TOP", (1, 3), rule_id=7))


def test_flatten_on_a_leaf_keeps_the_line_with_its_other_rules() -> None:
    result = map_ebom(ebom([line(1, "TOP", 10, "A")]), [
        rule(1, "flatten"), rule(2, "assign_operation", operation="0010")], context())
    assert [(i.part, i.operation, i.lineage.rule_ids) for i in result.mboms["TOP"].lines] == [
        ("A", "0010", (2,))]
    assert warnings(result) == [("nothing_to_flatten", "TOP", 1, 1)]


# -- make or buy ------------------------------------------------------------------------------


def test_make_or_buy_is_rule_then_plant_data_then_part_default() -> None:
    lines = [line(1, "TOP", 10, "A", part_make_or_buy="buy"),
             line(2, "TOP", 20, "B", part_make_or_buy="buy"),
             line(3, "TOP", 30, "C", part_make_or_buy="buy"),
             line(4, "TOP", 40, "D")]
    plant = {"B": PlantPartData(make_or_buy="make"), "C": PlantPartData(make_or_buy="make"),
             "D": PlantPartData(make_or_buy="")}
    result = map_ebom(ebom(lines), [
        rule(1, "set_make_buy", eq("part", "C"), make_or_buy="make"),
        rule(2, "set_make_buy", eq("part", "C"), make_or_buy="buy"),
        rule(3, "set_make_buy", eq("part", "A"), make_or_buy="make"),
    ], context(plant_parts=plant))
    assert [(i.part, i.make_or_buy, i.lineage.rule_ids) for i in result.mboms["TOP"].lines] == [
        ("A", "make", (3,)), ("B", "make", ()), ("C", "buy", (2,)), ("D", "make", ())]


def test_buying_a_made_subassembly_stops_its_mbom() -> None:
    result = map_ebom(ebom([line(1, "TOP", 10, "SUB"), line(2, "SUB", 10, "X")]),
                      [rule(1, "set_make_buy", eq("part", "SUB"), make_or_buy="buy")], context())
    assert list(result.mboms) == ["TOP"]
    assert result.set_aside == (Disposition("inside_bought", "TOP", (1, 2), bought_line_id=1),)


def test_a_subassembly_made_in_one_place_and_bought_in_another_is_warned() -> None:
    result = map_ebom(ebom([
        line(1, "TOP", 10, "SUB"),
        line(2, "TOP", 20, "KIT", item_type="phantom"),
        line(3, "KIT", 10, "SUB"),
        line(4, "SUB", 10, "X"),
    ]), [rule(1, "set_make_buy", eq("level", 2), make_or_buy="buy")], context())
    assert summary(result) == [(10, "SUB", D(1), "pcs", "make"), (20, "SUB", D(1), "pcs", "buy")]
    assert summary(result, "SUB") == [(10, "X", D(1), "pcs", "make")]
    assert warnings(result) == [("make_or_buy_differs", None, 3, None)]
    assert result.warnings[0].message == (
        "SUB is made at eBOM line 1 and bought at eBOM line 3; its mBOM is built and used "
        "where it is made")


def test_a_part_inactive_at_the_plant_is_warned_once() -> None:
    result = map_ebom(ebom([
        line(1, "TOP", 10, "KIT", item_type="phantom"),
        line(2, "TOP", 20, "KIT", item_type="phantom"),
        line(3, "KIT", 10, "OLD"),
    ]), [], context(plant_parts={"OLD": PlantPartData(active=False)}))
    assert len(result.mboms["TOP"].lines) == 2
    assert warnings(result) == [("inactive_at_plant", "TOP", 3, None)]
    assert result.warnings[0].message == "OLD is not active at plant P1"


# -- substitute -------------------------------------------------------------------------------


def test_substitute_replaces_the_part_with_its_factor() -> None:
    result = map_ebom(ebom([line(1, "TOP", 10, "A", 3), line(2, "TOP", 20, "CAB-1", 400, "mm")]), [
        rule(1, "substitute", eq("part", "A"), part="ALT-1"),
        rule(2, "substitute", eq("part", "CAB-1"), part="ALT-1"),
        rule(3, "substitute", eq("part", "CAB-1"), part="CAB-ALT", factor="1.5"),
    ], context(known_parts=ALTERNATES))
    lines = result.mboms["TOP"].lines
    assert [(i.part, i.quantity, i.unit, i.make_or_buy, i.substitutes_for, i.lineage.rule_ids)
            for i in lines] == [("ALT-1", D(3), "pcs", "buy", "A", (1,)),
                                ("CAB-ALT", D(600), "mm", "make", "CAB-1", (3,))]


def test_substitute_uses_the_substitutes_plant_data() -> None:
    result = map_ebom(ebom([line(1, "TOP", 10, "A", part_make_or_buy="buy")]),
                      [rule(1, "substitute", part="ALT-1")],
                      context(known_parts=ALTERNATES,
                              plant_parts={"ALT-1": PlantPartData(make_or_buy="make"),
                                           "A": PlantPartData(make_or_buy="buy")}))
    assert summary(result) == [(10, "ALT-1", D(1), "pcs", "make")]


def test_substitute_is_skipped_on_an_assembly_and_where_the_unit_cannot_measure_it() -> None:
    result = map_ebom(ebom([
        line(1, "TOP", 10, "SUB"),
        line(2, "SUB", 10, "X"),
        line(3, "TOP", 20, "CAB-1", 2),
    ]), [rule(1, "substitute", eq("part", "SUB"), part="ALT-1"),
         rule(2, "substitute", eq("part", "CAB-1"), part="ALT-1"),
         rule(3, "assign_operation", operation="0010")],
        context(known_parts=ALTERNATES))
    assert [(i.part, i.substitutes_for, i.lineage.rule_ids)
            for i in result.mboms["TOP"].lines] == [("SUB", None, (3,)), ("CAB-1", None, (3,))]
    assert warnings(result) == [("substitute_on_assembly", "TOP", 1, 1),
                                ("substitute_unit_mismatch", "TOP", 3, 2)]
    assert [w.message for w in result.warnings] == [
        "SUB has eBOM children; substitute ALT-1 not applied",
        "m cannot measure substitute ALT-1; kept CAB-1"]
    assert list(result.mboms) == ["TOP", "SUB"]


# -- convert_unit, scrap, rounding -------------------------------------------------------------


def test_convert_unit_to_a_unit_to_the_plant_unit_or_to_the_base_unit() -> None:
    result = map_ebom(ebom([
        line(1, "TOP", 10, "CAB-1", 1250, "mm"),
        line(2, "TOP", 20, "SHT-1", 300, "g"),
        line(3, "TOP", 30, "SHT-2", 300, "g"),
    ]), [rule(1, "convert_unit", eq("part", "CAB-1"), unit="m"),
         rule(2, "convert_unit", {"field": "part", "op": "glob", "value": "SHT-*"},
              to_plant_unit=True)],
        context(plant_parts={"SHT-1": PlantPartData(unit="g")}))
    assert summary(result) == [(10, "CAB-1", D("1.25"), "m", "make"),
                               (20, "SHT-1", D(300), "g", "make"),
                               (30, "SHT-2", D("0.3"), "kg", "make")]


def test_convert_unit_across_dimensions_uses_the_part_conversion() -> None:
    result = map_ebom(ebom([line(1, "TOP", 10, "CAB-1", 2, "m")]),
                      [rule(1, "convert_unit", unit="g")],
                      context(part_conversions={"CAB-1": (PartConversion("m", "kg", D("0.045")),)}))
    assert summary(result) == [(10, "CAB-1", D(90), "g", "make")]


def test_an_impossible_conversion_keeps_the_line_and_skips_its_rounding() -> None:
    result = map_ebom(ebom([line(1, "TOP", 10, "CAB-1", "1.2")]),
                      [rule(4, "convert_unit", unit="pcs", round_up_to_multiple=5)], context())
    only = result.mboms["TOP"].lines[0]
    assert (only.quantity, only.unit, only.rounding, only.lineage.rule_ids) == (
        D("1.2"), "m", None, ())
    assert warnings(result) == [("conversion_impossible", "TOP", 1, 4)]
    assert result.warnings[0].message == (
        "CAB-1: cannot convert m (length) to pcs (count); quantity kept in m")


def test_scrap_and_yield_raise_the_quantity_and_are_recorded() -> None:
    result = map_ebom(ebom([line(1, "TOP", 10, "A", 20), line(2, "TOP", 20, "B", 19)]), [
        rule(1, "scrap", eq("part", "A"), scrap_percent="2.5"),
        rule(2, "scrap", eq("part", "B"), yield_percent=95),
    ], context())
    a, b = result.mboms["TOP"].lines
    assert (a.quantity, a.scrap_percent, a.yield_percent) == (D("20.5"), D("2.5"), None)
    assert (b.quantity, b.scrap_percent, b.yield_percent) == (D(20), None, D(95))


def test_the_last_matching_rule_of_a_kind_wins() -> None:
    result = map_ebom(ebom([line(1, "TOP", 10, "A", 10)]), [
        rule(1, "scrap", scrap_percent=50, order=20),
        rule(2, "scrap", scrap_percent=10, order=10),
        rule(3, "assign_operation", operation="first", order=1),
        rule(4, "assign_operation", operation="second", order=2),
    ], context())
    only = result.mboms["TOP"].lines[0]
    assert (only.quantity, only.scrap_percent, only.operation, only.lineage.rule_ids) == (
        D(15), D(50), "second", (4, 1))


def test_rounding_comes_after_scrap_and_keeps_the_exact_quantity() -> None:
    result = map_ebom(ebom([line(1, "TOP", 10, "CAB-1", 950, "mm")]), [
        rule(1, "convert_unit", unit="m", round_up_to_multiple="0.5"),
        rule(2, "scrap", scrap_percent=5),
    ], context())
    only = result.mboms["TOP"].lines[0]
    # 0.95 m x 1.05 = 0.9975 m, rounded up to 1.0 (rounding first would give 1.05).
    assert (only.quantity, only.unrounded_quantity, only.unit, only.rounding) == (
        D("1.0"), D("0.9975"), "m", Rounding(multiple=D("0.5")))


@pytest.mark.parametrize(("params", "expected"), [
    ({"decimals": 1}, D("0.2")),
    ({"decimals": 1, "rounding": "up"}, D("0.2")),
    ({"decimals": 1, "rounding": "half_up"}, D("0.1")),
    ({"decimals": 3, "rounding": "half_up"}, D("0.123")),
    ({"decimals": 0}, D(1)),
    ({"round_up_to_multiple": "0.05"}, D("0.15")),
    ({"round_up_to_multiple": 1}, D(1)),
])
def test_rounding_modes(params: dict[str, Any], expected: D) -> None:
    result = map_ebom(ebom([line(1, "TOP", 10, "SHT-1", "123.4", "g")]),
                      [rule(1, "convert_unit", unit="kg", **params)], context())
    assert result.mboms["TOP"].lines[0].quantity == expected
    assert result.mboms["TOP"].lines[0].unrounded_quantity == D("0.1234")


# -- annotations, added items, consolidation --------------------------------------------------


def test_erp_fields_merge_key_by_key_with_the_last_value_winning() -> None:
    result = map_ebom(ebom([line(1, "TOP", 10, "A")]), [
        rule(1, "set_erp_fields", backflush=True, supply_area="PSA1"),
        rule(2, "set_erp_fields", backflush=False),
        rule(3, "set_erp_fields", item_category="L"),
        rule(4, "set_erp_fields", item_category="N"),
    ], context())
    only = result.mboms["TOP"].lines[0]
    assert dict(only.erp_fields) == {"backflush": False, "item_category": "N",
                                     "supply_area": "PSA1"}
    assert only.lineage.rule_ids == (1, 2, 4)


def test_add_item_adds_one_line_per_made_assembly_it_matches() -> None:
    result = map_ebom(ebom([
        line(1, "TOP", 10, "SUB", 2, part_category="module"),
        line(2, "TOP", 20, "SUB2", part_category="module"),
        line(3, "SUB", 10, "X"),
        line(4, "SUB2", 10, "Y"),
    ], revision_attributes={"SUB2": {"export": True}}), [
        rule(1, "add_item", eq("category", "module"), part="LBL-1", quantity=2, unit="pcs"),
        rule(2, "add_item", eq("attributes.export", True), part="GLU-9", quantity=5, unit="g",
             item_type="bulk"),
        rule(3, "add_item", eq("level", 0), order=1, part="LBL-1", quantity=1, unit="pcs"),
        rule(4, "consolidate"),
        rule(5, "add_item", {"all": [eq("category", "module"), eq("attributes.export", True)]},
             part="LBL-1", quantity=3, unit="pcs"),
    ], context(known_parts=ALTERNATES, plant_parts={"GLU-9": PlantPartData(make_or_buy="buy",
                                                                           active=False)}))
    assert summary(result) == [(10, "SUB", D(2), "pcs", "make"), (20, "SUB2", D(1), "pcs", "make"),
                               (30, "LBL-1", D(1), "pcs", "buy")]
    assert summary(result, "SUB") == [(10, "X", D(1), "pcs", "make"),
                                      (20, "LBL-1", D(1), "pcs", "buy"),
                                      (30, "LBL-1", D(2), "pcs", "buy")]
    assert summary(result, "SUB2") == [(10, "Y", D(1), "pcs", "make"),
                                       (20, "LBL-1", D(1), "pcs", "buy"),
                                       (30, "LBL-1", D(2), "pcs", "buy"),
                                       (40, "GLU-9", D(5), "g", "buy"),
                                       (50, "LBL-1", D(3), "pcs", "buy")]
    assert [(i.part, i.item_type, i.added_by_rule, i.lineage) for i in
            result.mboms["SUB2"].lines] == [
        ("Y", "component", None, Lineage((4,), (4,))),
        ("LBL-1", "component", 3, Lineage((), (3,))),
        ("LBL-1", "component", 1, Lineage((), (1,))),
        ("GLU-9", "bulk", 2, Lineage((), (2,))),
        ("LBL-1", "component", 5, Lineage((), (5,)))]
    assert warnings(result) == [("inactive_at_plant", "SUB2", None, 2)]


def test_consolidate_merges_identical_lines_and_rounds_their_sum() -> None:
    result = map_ebom(ebom([
        line(1, "TOP", 10, "CAB-1", 300, "mm", reference_designators=("W1",)),
        line(2, "TOP", 20, "KIT", 2, item_type="phantom"),
        line(3, "KIT", 10, "CAB-1", 100, "mm", reference_designators=("W2",)),
        line(4, "KIT", 20, "NUT", 2),
        line(5, "TOP", 30, "NUT", 3),
        line(6, "TOP", 40, "NUT", 1),
        line(7, "TOP", 50, "CAB-1", 100, "mm"),
    ]), [rule(1, "convert_unit", eq("part", "CAB-1"), unit="m", round_up_to_multiple=1),
         rule(2, "consolidate", eq("part", "CAB-1")),
         rule(3, "consolidate", eq("part", "NUT")),
         rule(4, "assign_operation", {"all": [eq("part", "NUT"), eq("level", 1),
                                             {"field": "quantity", "op": "lt", "value": 2}]},
              operation="0010")], context())
    assert [(i.position, i.part, i.quantity, i.unrounded_quantity, i.operation,
             i.reference_designators, i.lineage) for i in result.mboms["TOP"].lines] == [
        (10, "CAB-1", D(1), D("0.6"), "", ("W1", "W2"),
         Lineage((1, 2, 3, 7), (1, 2), ((1,), (2, 3), (7,)))),
        (20, "NUT", D(7), D(7), "", (), Lineage((2, 4, 5), (3,), ((2, 4), (5,)))),
        (30, "NUT", D(1), D(1), "0010", (), Lineage((6,), (3, 4))),
    ]


def test_lines_not_matched_by_consolidate_stay_apart() -> None:
    result = map_ebom(ebom([line(1, "TOP", 10, "A"), line(2, "TOP", 20, "A"),
                            line(3, "TOP", 30, "A")]),
                      [rule(1, "consolidate", {"field": "level", "op": "eq", "value": 1}),
                       rule(2, "exclude", eq("part", "B"))], context())
    assert summary(result) == [(10, "A", D(3), "pcs", "make")]
    result = map_ebom(ebom([line(1, "TOP", 10, "A"), line(2, "TOP", 20, "A")]), [], context())
    assert summary(result) == [(10, "A", D(1), "pcs", "make"), (20, "A", D(1), "pcs", "make")]


def test_mbom_line_fields_are_complete() -> None:
    result = map_ebom(ebom([line(1, "TOP", 10, "A", 2, reference_designators=("R1", "R2"),
                                 item_type="bulk")]),
                      [rule(1, "set_erp_fields", backflush=True)], context())
    assert result.mboms["TOP"].lines == (MBomLine(
        position=10, part="A", quantity=D(2), unit="pcs", item_type="bulk", make_or_buy="make",
        lineage=Lineage((1,), (1,)), unrounded_quantity=D(2), rounding=None,
        scrap_percent=None, yield_percent=None, operation="", erp_fields={"backflush": True},
        reference_designators=("R1", "R2"), substitutes_for=None, added_by_rule=None),)
    assert (result.plant, result.root_part, result.mboms["TOP"].base_unit) == ("P1", "TOP", "pcs")


def test_shared_structure_warns_once_and_maps_each_occurrence() -> None:
    result = map_ebom(ebom([
        line(1, "TOP", 10, "KIT", item_type="phantom"),
        line(2, "TOP", 20, "KIT", 2, item_type="phantom"),
        line(3, "KIT", 10, "CAB-1", "0.5"),
    ]), [rule(1, "convert_unit", unit="pcs")], context())
    assert summary(result) == [(10, "CAB-1", D("0.5"), "m", "make"),
                               (20, "CAB-1", D("1.0"), "m", "make")]
    assert warnings(result) == [("conversion_impossible", "TOP", 3, 1)]
    assert result.dispositions() == {
        1: (Disposition("flattened", "TOP", (1,)),),
        2: (Disposition("flattened", "TOP", (2,)),),
        3: (Disposition("fed", "TOP", (1, 3), position=10),
            Disposition("fed", "TOP", (2, 3), position=20)),
    }
