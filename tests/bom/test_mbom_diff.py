"""The pure mBOM diff: matching by identity, occurrence order, what counts as a change."""

from __future__ import annotations

from decimal import Decimal

from thread.bom.mbom.diff import LineData, diff_lines


def line(position, part, quantity="1", **fields) -> LineData:
    return LineData(position=position, part=part, quantity=Decimal(quantity),
                    unit=fields.pop("unit", "pcs"), item_type=fields.pop("item_type", "component"),
                    make_or_buy=fields.pop("make_or_buy", "buy"), **fields)


def kinds(diff):
    return [(entry.kind, entry.line.part, entry.line.position) for entry in diff.entries]


def test_identical_lines_are_unchanged_even_when_they_moved():
    old = [line(10, "A"), line(20, "B")]
    new = [line(10, "X"), line(20, "A"), line(30, "B")]
    diff = diff_lines(old, new)
    assert kinds(diff) == [("added", "X", 10), ("unchanged", "A", 20), ("unchanged", "B", 30)]
    assert diff.summary() == {"added": 1, "removed": 0, "changed": 0, "unchanged": 2}


def test_removed_lines_come_last_in_their_old_order():
    diff = diff_lines([line(10, "A"), line(20, "B"), line(30, "C")], [line(10, "B")])
    assert kinds(diff) == [("unchanged", "B", 10), ("removed", "A", 10), ("removed", "C", 30)]


def test_changes_name_each_field_with_old_and_new_value():
    old = [line(10, "A", "2", operation="ASSY", erp_fields={"backflush": True})]
    new = [line(10, "A", "2.000", unit="pcs", make_or_buy="make", operation="WELD",
                erp_fields={"backflush": True}, scrap_percent=Decimal("3"))]
    (entry,) = diff_lines(old, new).entries
    assert entry.kind == "changed"
    assert [(c.field, c.old, c.new) for c in entry.changes] == [
        ("make_or_buy", "buy", "make"), ("operation", "ASSY", "WELD"),
        ("scrap_percent", None, Decimal("3"))]


def test_erp_fields_and_units_are_compared():
    (entry,) = diff_lines([line(10, "T", "1250", unit="mm", erp_fields={"a": 1})],
                          [line(10, "T", "1.25", unit="m", erp_fields={"a": 2})]).entries
    assert [c.field for c in entry.changes] == ["quantity", "unit", "erp_fields"]


def test_duplicates_pair_in_occurrence_order():
    old = [line(10, "S", "4", operation="ASSY"), line(20, "S", "2", operation="PACK")]
    new = [line(10, "S", "4", operation="ASSY"), line(20, "S", "3", operation="PACK"),
           line(30, "S", "1", operation="TEST")]
    diff = diff_lines(old, new)
    assert [(e.kind, e.line.operation) for e in diff.entries] == [
        ("unchanged", "ASSY"), ("changed", "PACK"), ("added", "TEST")]


def test_a_substitute_and_an_added_item_are_other_lines_than_the_part_itself():
    old = [line(10, "CT-1"), line(20, "PK-1")]
    new = [line(10, "CT-2", substitutes_for="CT-1"), line(20, "PK-1", added_by_rule=7)]
    assert kinds(diff_lines(old, new)) == [
        ("added", "CT-2", 10), ("added", "PK-1", 20), ("removed", "CT-1", 10),
        ("removed", "PK-1", 20)]


def test_added_items_match_across_rule_set_versions_whatever_their_rule_id():
    (entry,) = diff_lines([line(10, "PK-1", added_by_rule=7)],
                          [line(10, "PK-1", added_by_rule=9)]).entries
    assert entry.kind == "unchanged"


def test_empty_sides():
    assert diff_lines([], []).is_empty
    assert kinds(diff_lines([], [line(10, "A")])) == [("added", "A", 10)]
    assert kinds(diff_lines([line(10, "A")], [])) == [("removed", "A", 10)]
