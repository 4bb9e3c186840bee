"""Reading eBOMs: snapshot lists and details, the exploded structure, the demo product, the
OpenAPI description of both push shapes."""

from decimal import Decimal

import pytest

from thread.bom.ebom import selectors, services
from thread.bom.models import EBom
from thread.catalog.models import PartRevision
from thread.demo.product import structure
from thread.demo.seed import seed_demo

from .conftest import EBOMS


@pytest.fixture
def pushed(plm, units, example):
    assert plm.push(EBOMS, example).status_code == 201
    return example


def _many_snapshots(count: int) -> None:
    for n in range(count):
        services.ebom_push(payload={"part": f"ASM-{n}", "lines": [
            {"find_number": 10, "part": f"C-{n}", "quantity": "1", "unit": "pcs",
             "item_type": "component"}]}, actor=None, reason="fixture")


@pytest.mark.parametrize("count", [2, 20])
def test_the_snapshot_list_costs_the_same_queries_for_any_length(plm, units, count,
                                                                 django_assert_num_queries):
    _many_snapshots(count)
    with django_assert_num_queries(3):  # API key, page of snapshots (+ joins), nothing per row
        response = plm.get(EBOMS, {"page_size": 50})
    assert len(response.json()["results"]) == count


def test_snapshots_filter_by_part_revision_and_current(plm, pushed):
    pushed["lines"][0]["lines"][0]["quantity"] = "2"
    plm.push(EBOMS, pushed)
    frame = plm.get(EBOMS, {"part": "FR-200"}).json()["results"]
    assert [(e["revision"]["label"], e["number"], e["is_current"]) for e in frame] == [
        ("C", 1, False), ("C", 2, True)]
    current = plm.get(EBOMS, {"part": "FR-200", "current": "true"}).json()["results"]
    assert [e["number"] for e in current] == [2]
    part_id = frame[0]["revision"]["part"]["id"]
    assert len(plm.get(EBOMS, {"part_id": part_id, "revision": "C"}).json()["results"]) == 2


def test_a_snapshot_shows_its_lines(plm, pushed, django_assert_num_queries):
    snapshot = EBom.objects.get(revision__part__number="BK-100")
    with django_assert_num_queries(3):
        body = plm.get(f"{EBOMS}{snapshot.pk}/").json()
    assert [(line["find_number"], line["part"]["number"], line["quantity"], line["unit"],
             line["item_type"]) for line in body["lines"]] == [
        (10, "FR-200", "1.000000", "pcs", "component"),
        (20, "KT-900", "1.000000", "pcs", "phantom"),
        (30, "DOC-1", "1.000000", "pcs", "document")]


def test_the_explosion_lists_every_level_depth_first(plm, pushed):
    body = plm.get("/api/v1/bom/explosion/", {"part": "BK-100"}).json()
    assert (body["part"], body["revision"], body["truncated"]) == ("BK-100", "B", False)
    assert [(line["level"], line["path"], line["part"], line["revision"]) for line in body["lines"]] == [
        (1, [10], "FR-200", "C"), (2, [10, 10], "TB-310", None),
        (1, [20], "KT-900", "A"), (2, [20, 10], "SC-M5x12", None),
        (1, [30], "DOC-1", None)]
    tube = body["lines"][1]
    assert (tube["quantity"], tube["unit"], tube["base_unit"], tube["attributes"]) == (
        "1250.000000", "mm", "mm", {"material": "AL6061"})


def test_the_explosion_of_an_unknown_part_is_404(plm, units):
    assert plm.get("/api/v1/bom/explosion/", {"part": "NOPE"}).status_code == 404


def test_the_explosion_of_a_named_revision_and_of_one_that_does_not_exist(plm, pushed):
    body = plm.get("/api/v1/bom/explosion/", {"part": "FR-200", "revision": "C"}).json()
    assert (body["part"], body["revision"], [line["part"] for line in body["lines"]]) == (
        "FR-200", "C", ["TB-310"])
    assert plm.get("/api/v1/bom/explosion/", {"part": "FR-200", "revision": "Z"}).status_code == 404


def test_the_demo_seeds_its_ebom_through_the_service(db):
    seed_demo()
    top = PartRevision.objects.get(part__number="BK-100", label="B")
    exploded = selectors.explode(revision=top)
    occurrences = list(exploded.walk())
    assert len(occurrences) == len(list(_flat(structure()["lines"])))
    assert max(o.level for o in occurrences) == 4
    assert {o.line.item_type for o in occurrences} == {"component", "phantom", "document",
                                                       "software", "bulk"}
    assert {o.line.unit for o in occurrences} >= {"pcs", "mm", "kg"}
    assert {a.revision_status for a in exploded.assemblies.values()} == {"released"}
    tube = next(o.line for o in occurrences if o.line.part == "TB-310")
    assert (tube.quantity, tube.unit, tube.base_unit, tube.category) == (
        Decimal("1250"), "mm", "m", "raw material")


def _flat(lines):
    for line in lines:
        yield line
        yield from _flat(line.get("lines", []))


def test_the_schema_documents_both_push_shapes(plm, units):
    schema = plm.get("/api/schema/", {"format": "json"}).json()
    body = schema["paths"]["/api/v1/bom/eboms/"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/EBomPushRequest"}
    shapes = schema["components"]["schemas"]["EBomPushRequest"]["oneOf"]
    assert shapes == [{"$ref": "#/components/schemas/EBomNestedPushRequest"},
                      {"$ref": "#/components/schemas/EBomFlatPushRequest"}]
    row = schema["components"]["schemas"]["EBomRowRequest"]
    assert {"parent", "find_number", "part", "quantity", "unit", "item_type"} <= set(
        row["required"])
    line = schema["components"]["schemas"]["EBomNestedLineRequest"]
    assert line["properties"]["lines"]["items"] == {
        "$ref": "#/components/schemas/EBomNestedLineRequest"}
