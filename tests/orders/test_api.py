"""The orders API: the ERP's bulk pushes (idempotent, atomic, pointers), status updates, lists
with filters and pinned query counts, impact flags with their actions, and the impact."""

from __future__ import annotations

import copy
from datetime import date
from unittest.mock import ANY

import pytest

from thread.catalog import services as catalog
from thread.catalog.models import UnitOfMeasure
from thread.changes.flags import impact_flags_raise
from thread.changes.impact import change_order_impact
from thread.changes.models import ImpactFlag
from thread.orders.models import ProductionOrder, PurchaseOrder, PurchaseOrderLine

from ..conftest import make_system_client, problem
from .conftest import IMPACT, IMPACT_FLAGS, PRODUCTION_ORDERS, PURCHASE_ORDERS

PO_BODY = {"orders": [
    {"number": "4500001", "supplier": "Drivetec", "plant": "BER", "status": "open",
     "erp_status": "NB", "order_date": "2026-11-20",
     "lines": [{"line_number": 10, "part": "MT-510", "quantity": 40, "unit": "pcs",
                "due_date": "2027-02-01"},
               {"line_number": 20, "part": "SC-M8", "quantity": "0.5", "unit": "pcs",
                "due_date": "2027-01-05"}]},
    {"number": "4500002", "supplier": "Bolts Inc", "plant": "CLT", "status": "open",
     "lines": [{"line_number": 1, "part": "SC-M8", "quantity": 100, "unit": "pcs",
                "due_date": "2027-01-05"}]},
]}
MO_BODY = {"orders": [
    {"number": "1000001", "part": "BK-100", "plant": "BER", "quantity": 25, "unit": "pcs",
     "planned_start": "2027-01-20T06:00:00+01:00", "planned_end": "2027-01-22",
     "status": "released", "erp_status": "REL"},
]}


def test_the_erp_pushes_purchase_orders_idempotently(bike, erp):
    response = erp.push(PURCHASE_ORDERS, PO_BODY, key="po-1")
    assert response.status_code == 201, response.content
    body = response.json()
    assert [o["number"] for o in body["created"]] == ["4500001", "4500002"]
    assert (body["updated"], body["unchanged"]) == ([], [])
    replay = erp.push(PURCHASE_ORDERS, PO_BODY, key="po-1")
    assert (replay.status_code, replay.json(), replay["Idempotent-Replayed"]) == (
        201, body, "true")
    again = erp.push(PURCHASE_ORDERS, PO_BODY)
    assert again.status_code == 200 and len(again.json()["unchanged"]) == 2
    order = PurchaseOrder.objects.get(number="4500001")
    assert order.history.get().history_change_reason.startswith("API push by ERP test")
    assert str(order.lines.get(line_number=20).quantity) == "0.500000"


def test_a_bad_push_names_the_field_and_writes_nothing(bike, erp):
    body = {"orders": [PO_BODY["orders"][0], {**PO_BODY["orders"][1], "lines": [
        {"line_number": 1, "part": "SC-M8", "quantity": 1, "unit": "pcs",
         "due_date": "2027-01-05"},
        {"line_number": 2, "part": "NOPE-1", "quantity": 0, "unit": "pcs",
         "due_date": "2027-01-05"}]}]}
    response = erp.push(PURCHASE_ORDERS, body)
    assert response.status_code == 400
    assert [(e["pointer"], e["code"]) for e in problem(response)["errors"]] == [
        ("/orders/1/lines/1/quantity", "not_positive"), ("/orders/1/lines/1/part", "unknown_part")]
    shape = erp.push(PURCHASE_ORDERS, {"orders": [{**PO_BODY["orders"][0], "lines": [
        {"line_number": 1, "part": "SC-M8", "quantity": "x", "unit": "pcs"}]}]})
    assert [(e["pointer"], e["code"]) for e in problem(shape)["errors"]] == [
        ("/orders/0/lines/0/quantity", "invalid"), ("/orders/0/lines/0/due_date", "required")]
    assert not PurchaseOrder.objects.exists()


def test_only_the_erp_pushes_and_reads_orders(bike, plm, mes, erp):
    assert plm.push(PURCHASE_ORDERS, PO_BODY).status_code == 403
    assert plm.get(PURCHASE_ORDERS).status_code == 403
    assert mes.get(PURCHASE_ORDERS).status_code == 403
    assert mes.get(PRODUCTION_ORDERS).status_code == 200
    assert mes.push(PRODUCTION_ORDERS, MO_BODY).status_code == 403


def test_production_orders_push_status_and_read(bike, erp, mes, django_assert_num_queries):
    response = erp.push(PRODUCTION_ORDERS, MO_BODY)
    assert response.status_code == 201, response.content
    order_id = response.json()["created"][0]["id"]
    status = erp.push(f"{PRODUCTION_ORDERS}{order_id}/status/",
                      {"status": "in_progress", "erp_status": "REL PCNF"})
    assert status.status_code == 200, status.content
    got = status.json()
    assert (got["status"], got["erp_status"], got["revision"]["label"], got["resolved_as_of"],
            got["planned_end"]) == ("in_progress", "REL PCNF", "A", "2027-01-20",
                                    "2027-01-21T23:00:00Z")
    assert got["mbom_version"]["id"] == ProductionOrder.objects.get().mbom_version_id

    erp.push(PRODUCTION_ORDERS, {"orders": [
        {**MO_BODY["orders"][0], "number": f"10000{i:02}", "part": part, "plant": plant}
        for i, (part, plant) in enumerate([("FR-200", "BER"), ("MT-500", "CLT"),
                                           ("BK-100", "CLT")] * 5, start=2)]})
    with django_assert_num_queries(3):  # key + last use, page
        listed = mes.get(PRODUCTION_ORDERS, {"plant": "CLT", "status": "released"})
    assert listed.status_code == 200
    assert len(listed.json()["results"]) == 10
    assert {o["part"]["number"] for o in mes.get(
        PRODUCTION_ORDERS, {"part": "MT-500"}).json()["results"]} == {"MT-500"}


def test_purchase_order_list_query_count_is_constant(bike, erp, django_assert_num_queries):
    erp.push(PURCHASE_ORDERS, {"orders": [
        {**PO_BODY["orders"][0], "number": f"45{i:05}"} for i in range(30)]})
    with django_assert_num_queries(3):  # key (used just now: no touch), page, lines
        response = erp.get(PURCHASE_ORDERS, {"part": "MT-510", "page_size": 100})
    assert len(response.json()["results"]) == 30
    assert response.json()["results"][0]["lines"][0]["open_quantity"] == "40.000000"


@pytest.fixture
def flagged(eco, erp):
    erp.push(PURCHASE_ORDERS, PO_BODY)
    erp.push(PRODUCTION_ORDERS, MO_BODY)
    return impact_flags_raise(change_order=eco, impact=change_order_impact(change_order=eco),
                              actor=None, reason="release")


def test_impact_flags_are_read_and_moved_by_the_erp_and_people(flagged, eco, erp, person,
                                                               django_assert_num_queries):
    assert len(flagged) == 3  # PO 4500001 (motor), PO 4500002 (screws), the bike's production
    with django_assert_num_queries(2):  # key (used just now: no touch), page with its joins
        listed = erp.get(IMPACT_FLAGS, {"change_order": "ECO-1", "status": "open"})
    assert [f["kind"] for f in listed.json()["results"]] == [
        "removed_component", "changed_component", "parent_assembly"]
    first = flagged[0].pk
    done = erp.push(f"{IMPACT_FLAGS}{first}/acknowledge/", {"note": "Planner on it"})
    assert (done.status_code, done.json()["status"], done.json()["acknowledged_by"]) == (
        200, "acknowledged", "svc-erp-test"), done.content
    auditor, manager = person("auditor"), person("change manager")
    for client in (auditor, manager):
        client.cookies["csrftoken"] = client.csrf_token
    assert auditor.post(f"{IMPACT_FLAGS}{first}/resolve/", {"note": "x"}, format="json",
                        HTTP_X_CSRFTOKEN=auditor.csrf_token).status_code == 403
    resolved = manager.post(f"{IMPACT_FLAGS}{first}/resolve/", {"note": "Reduced"},
                            format="json", HTTP_X_CSRFTOKEN=manager.csrf_token)
    assert (resolved.status_code, resolved.json()["resolved_by"]) == (200,
                                                                       "change-manager-user")
    refused = erp.push(f"{IMPACT_FLAGS}{first}/acknowledge/", {"note": "again"})
    assert (refused.status_code, problem(refused)["errors"][0]["code"]) == (
        409, "invalid_transition")
    assert ImpactFlag.objects.get(pk=first).status == "resolved"


def test_the_impact_endpoint(flagged, eco, erp, plm, mes):
    response = erp.get(IMPACT, {"change_order": "ECO-1"})
    assert response.status_code == 200, response.content
    body = response.json()
    [item] = body["items"]
    assert (body["number"], item["part"], item["effective_from"]) == ("ECO-1", "MT-500",
                                                                      "2027-01-15")
    assert [(h["number"], h["line_number"], h["against"]) for h in item["purchase_orders"]] == [
        ("4500001", 20, {"timing": "before", "days": -10}),
        ("4500002", 1, {"timing": "before", "days": -10}),
        ("4500001", 10, {"timing": "on_or_after", "days": 17})]
    assert [(h["number"], h["kind"], h["start_date"]) for h in item["production_orders"]] == [
        ("1000001", "parent_assembly", "2027-01-20")]
    assert item["where_used"]["paths"] == [["MT-500", "BK-100"]]
    assert plm.get(IMPACT, {"change_order": str(eco.pk)}).status_code == 200
    assert mes.get(IMPACT, {"change_order": "ECO-1"}).status_code == 403
    assert problem(erp.get(IMPACT, {"change_order": "ECO-9"}))["status"] == 404
    assert date.fromisoformat(item["effective_from"]) == date(2027, 1, 15)


def test_impacts_first_routes_still_answer_and_are_deprecated_in_the_schema(flagged, erp, eco):
    new = erp.get(IMPACT_FLAGS, {"change_order": "ECO-1"})
    old = erp.get("/api/v1/orders/impact-flags/", {"change_order": "ECO-1"})
    assert old.status_code == 200 and old.json()["results"] == new.json()["results"]
    first = new.json()["results"][0]["id"]
    assert erp.get(f"/api/v1/orders/impact-flags/{first}/").json()["id"] == first
    done = erp.push(f"/api/v1/orders/impact-flags/{first}/acknowledge/", {"note": "Via the old route"})
    assert done.status_code == 200 and done.json()["status"] == "acknowledged"
    assert erp.get("/api/v1/orders/impact/", {"change_order": "ECO-1"}).json() == \
        erp.get(IMPACT, {"change_order": "ECO-1"}).json() | {"computed_at": ANY}

    paths = erp.get("/api/schema/", {"format": "json"}).json()["paths"]
    assert paths["/api/v1/orders/impact/"]["get"]["deprecated"] is True
    assert paths["/api/v1/orders/impact-flags/"]["get"]["deprecated"] is True
    assert paths["/api/v1/orders/impact-flags/{id}/acknowledge/"]["post"]["deprecated"] is True
    assert "deprecated" not in paths["/api/v1/changes/impact/"]["get"]
    assert "deprecated" not in paths["/api/v1/changes/impact-flags/"]["get"]


def test_the_erp_writes_units_its_own_way(bike, erp):
    """Synonyms are read as Thread's units; the ERP's own codes count for that ERP only."""
    catalog.system_unit_code_create(system=erp.system, code="PZ", unit=UnitOfMeasure.objects.get(
        code="pcs"), actor=None, reason="the ERP writes PZ (pezzi)")
    body = copy.deepcopy(PO_BODY)
    body["orders"][0]["lines"][0]["unit"] = "PCE"
    body["orders"][0]["lines"][1]["unit"] = "Pieces"
    body["orders"][1]["lines"][0]["unit"] = "PZ"
    response = erp.push(PURCHASE_ORDERS, body)
    assert response.status_code == 201, response.content
    assert sorted(PurchaseOrderLine.objects.values_list("unit__code", flat=True)) == [
        "pcs", "pcs", "pcs"]
    again = erp.push(PURCHASE_ORDERS, PO_BODY)  # Thread's codes: the same lines
    assert (again.status_code, len(again.json()["unchanged"])) == (200, 2)
    mo = copy.deepcopy(MO_BODY)
    mo["orders"][0]["unit"] = "each"
    assert erp.push(PRODUCTION_ORDERS, mo).status_code == 201
    assert ProductionOrder.objects.get().unit.code == "pcs"

    other = make_system_client("Other ERP", "erp")
    refused = other.push(PURCHASE_ORDERS, {"orders": [{**body["orders"][1], "number": "9"}]})
    assert [(e["pointer"], e["code"]) for e in problem(refused)["errors"]] == [
        ("/orders/0/lines/0/unit", "unknown_unit")]
    assert problem(refused)["errors"][0]["detail"].startswith("Unknown unit 'PZ'")
