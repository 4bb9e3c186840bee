"""Every bad input is refused whole: a problem response naming the line, and nothing written."""

import pytest
from django.test import override_settings

from thread.bom.models import EBomLine
from thread.catalog import services as catalog

from ..conftest import problem
from .conftest import EBOMS, db_state


def refused(plm, body, status=400):
    before = db_state()
    response = plm.push(EBOMS, body)
    assert response.status_code == status, response.content
    assert db_state() == before
    return problem(response)


def pointers(body):
    return [(e["pointer"], e["code"]) for e in body["errors"]]


def test_a_direct_cycle_is_refused(plm, units, example):
    example["lines"][0]["lines"][0].update(part="BK-100", unit="pcs", quantity="1")
    body = refused(plm, example)
    assert pointers(body) == [("/lines/0/lines/0/part", "cycle")]
    assert "FR-200 → BK-100 → FR-200" in body["errors"][0]["detail"]


def test_a_cycle_through_another_parts_stored_ebom_is_refused(plm, units, example):
    assert plm.push(EBOMS, example).status_code == 201  # FR-200 C contains TB-310
    tube = {"part": "TB-310", "revision": "A", "unit": "m",
            "lines": [{"find_number": 10, "part": "ZZ-1", "quantity": "1", "unit": "pcs",
                       "item_type": "component",
                       "lines": [{"find_number": 10, "part": "BK-100", "quantity": "1",
                                  "unit": "pcs", "item_type": "component"}]}]}
    body = refused(plm, tube)
    assert pointers(body) == [("/lines/0/lines/0/part", "cycle")]
    assert "ZZ-1 → BK-100 → FR-200 → TB-310 → ZZ-1" in body["errors"][0]["detail"]


@pytest.mark.parametrize(("quantity", "code"), [
    (None, "required"), ("0", "not_positive"), ("-2", "not_positive"), ("NaN", "not_finite"),
    ("Infinity", "not_finite"), ("ten", "not_a_number"), ("0.0000001", "too_precise"),
    ("123456789012345", "too_large"), (True, "not_a_number"),
])
def test_a_bad_quantity_is_refused(plm, units, example, quantity, code):
    line = example["lines"][1]["lines"][0]
    if quantity is None:
        del line["quantity"]
    else:
        line["quantity"] = quantity
    assert pointers(refused(plm, example)) == [("/lines/1/lines/0/quantity", code)]


def test_a_nan_number_literal_is_refused_as_malformed(plm, units):
    before = db_state()
    response = plm.post(EBOMS, data='{"part": "X-1", "lines": [{"quantity": NaN}]}',
                        content_type="application/json", HTTP_IDEMPOTENCY_KEY="nan")
    assert response.status_code == 400
    assert problem(response)["type"] == "/problems/malformed-body"
    assert db_state() == before


def test_an_unknown_unit_is_refused(plm, units, example):
    example["lines"][2]["unit"] = "furlong"
    assert pointers(refused(plm, example)) == [("/lines/2/unit", "unknown_unit")]


def test_a_unit_of_the_wrong_dimension_for_an_existing_part_is_refused(plm, units, example):
    catalog.part_create(number="TB-310", name="Tube", base_unit=units["m"], actor=None,
                        reason="master data")
    example["lines"][0]["lines"][0]["unit"] = "kg"
    body = refused(plm, example)
    assert pointers(body) == [("/lines/0/lines/0/unit", "unit_mismatch")]
    assert "kg (mass) cannot be converted to m (length), the base unit of TB-310" in (
        body["errors"][0]["detail"])


def test_a_part_conversion_makes_another_dimension_acceptable(plm, units, example):
    tube = catalog.part_create(number="TB-310", name="Tube", base_unit=units["m"], actor=None,
                               reason="master data")
    catalog.unit_conversion_set(part=tube, from_unit=units["m"], to_unit=units["kg"],
                                factor="0.6", actor=None, reason="weight per metre")
    example["lines"][0]["lines"][0]["unit"] = "g"
    assert plm.push(EBOMS, example).status_code == 201
    # The line is stored as stated (in grams), not refused and not silently rewritten.
    assert EBomLine.objects.get(ebom__is_current=True, part=tube).unit.code == "g"


def test_a_new_part_keeps_the_dimension_of_its_first_line(plm, units, example):
    example["lines"][1]["lines"].append({"find_number": 20, "part": "TB-310", "quantity": "2",
                                         "unit": "pcs", "item_type": "component"})
    assert pointers(refused(plm, example)) == [("/lines/1/lines/1/unit", "unit_mismatch")]


def test_duplicate_find_numbers_under_one_parent_are_refused(plm, units, example):
    example["lines"][2]["find_number"] = 20
    assert pointers(refused(plm, example)) == [("/lines/2/find_number", "duplicate_find_number")]


def test_changing_a_released_revisions_ebom_is_409_naming_the_line(plm, units, example):
    assert plm.push(EBOMS, {**example, "release": True}).status_code == 201
    example["lines"][0]["lines"][0]["quantity"] = "1300"
    body = refused(plm, example, status=409)
    assert body["type"] == "/problems/released-revision-immutable"
    assert pointers(body) == [("/lines/0/lines/0", "released")]
    assert "FR-200 rev C is released" in body["errors"][0]["detail"]


def test_removing_a_line_of_a_released_revision_is_409_naming_its_lines(plm, units, example):
    assert plm.push(EBOMS, {**example, "release": True}).status_code == 201
    del example["lines"][2]
    body = refused(plm, example, status=409)
    assert pointers(body) == [("/lines", "released")]


@pytest.mark.parametrize(("number", "code"), [
    ("", "invalid_part_number"), ("   ", "invalid_part_number"), ("X" * 65, "invalid_part_number"),
    ("AB\x00C", "nul_character"),  # refused by the parser: PostgreSQL stores no NUL
    ("AB\u200bC", "invalid_part_number"), (" AB", "invalid_part_number")])
def test_a_bad_part_number_is_refused(plm, units, example, number, code):
    example["lines"][1]["lines"][0]["part"] = number
    assert pointers(refused(plm, example)) == [("/lines/1/lines/0/part", code)]


@override_settings(THREAD_MAX_EBOM_LINES=4)
def test_more_lines_than_the_limit_is_413(plm, units, example):
    body = refused(plm, example, status=413)  # 5 lines over two levels
    assert body["type"] == "/problems/payload-too-large"
    assert pointers(body) == [("/lines", "too_many_lines")]


@override_settings(THREAD_MAX_EBOM_LINES=2)
def test_more_rows_than_the_limit_is_413(plm, units):
    rows = [{"parent": "P-1", "find_number": n, "part": f"C-{n}", "quantity": "1", "unit": "pcs",
             "item_type": "component"} for n in (1, 2, 3)]
    assert pointers(refused(plm, {"part": "P-1", "rows": rows}, status=413)) == [
        ("/rows", "too_many_lines")]


def test_all_problems_are_named_at_once(plm, units, example):
    example["lines"][0]["quantity"] = "0"
    example["lines"][1]["lines"][0]["unit"] = "parsec"
    example["lines"][2]["qty"] = "1"
    assert pointers(refused(plm, example)) == [
        ("/lines/0/quantity", "not_positive"), ("/lines/1/lines/0/unit", "unknown_unit"),
        ("/lines/2/qty", "unknown_field")]


def test_flat_rows_are_named_by_row(plm, units):
    rows = [{"parent": "P-1", "find_number": 1, "part": "C-1", "quantity": "1", "unit": "pcs",
             "item_type": "component"},
            {"parent": "P-1", "find_number": 1, "part": "C-2", "quantity": "-1", "unit": "pcs",
             "item_type": "component"},
            {"parent": "NOWHERE", "find_number": 1, "part": "C-3", "quantity": "1",
             "unit": "pcs", "item_type": "component"}]
    assert pointers(refused(plm, {"part": "P-1", "rows": rows})) == [
        ("/rows/1/quantity", "not_positive"), ("/rows/2/parent", "not_in_structure")]


def test_a_sub_assembly_stated_twice_differently_is_refused(plm, units, example):
    again = {**example["lines"][1], "find_number": 40,
             "lines": [{**example["lines"][1]["lines"][0], "quantity": "9"}]}
    example["lines"].append(again)
    assert pointers(refused(plm, example)) == [("/lines/3/lines", "conflicting_structure")]


def test_lines_and_rows_together_are_refused(plm, units, example):
    assert pointers(refused(plm, {**example, "rows": []})) == [("/rows", "ambiguous")]
