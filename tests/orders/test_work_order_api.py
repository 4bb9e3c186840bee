"""Routings, work centers and work orders through the API: the ERP's pushes (idempotent,
atomic, every bad input named by its pointer with nothing written), the MES's reads (the
document exactly as sent) and status reports (JSON or a B2MML acknowledgement; 409 for a move
the state machine does not allow), rights and pinned query counts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.b2mml.document import Envelope
from connectors.b2mml.xml import AckAction, acknowledgement_xml
from thread.flows.models import AttentionItem
from thread.orders.models import Routing, RoutingOperation, RoutingVersion, WorkCenter, WorkOrder

from ..conftest import make_system_client, problem
from .work_order_support import ROUTINGS, WORK_CENTERS, WORK_ORDERS, release

ROUTING = {"part": "BK-100", "plant": "CLT", "effective_from": "2026-06-01", "operations": [
    {"sequence": 10, "operation_code": "FIN", "work_center": "FIN-A", "setup_minutes": "15",
     "run_minutes": "42.5", "milestone": True, "instructions": "Check the torque."},
    {"sequence": 20, "operation_code": "PACK", "work_center": "FIN-A", "run_minutes": 5,
     "move_minutes": 30}]}


def nothing_written():
    return not Routing.objects.filter(plant__code="CLT").exists() and \
        not RoutingVersion.objects.filter(routing__plant__code="CLT").exists()


def test_the_erp_pushes_a_routing_released_at_once_and_idempotently(shop_floor):
    erp = shop_floor["erp"]
    response = erp.push(ROUTINGS, ROUTING, key="routing-1")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["number"], body["status"], body["effective_from"], body["plant"]) == (
        1, "released", "2026-06-01", "CLT")
    assert [(o["sequence"], o["work_center"], o["run_minutes"]) for o in body["operations"]] == [
        (10, "FIN-A", "42.5000"), (20, "FIN-A", "5.0000")]
    replay = erp.push(ROUTINGS, ROUTING, key="routing-1")
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    same = erp.push(ROUTINGS, ROUTING)  # the same routing under a new key: nothing new
    assert same.status_code == 200 and same.json()["id"] == body["id"]
    changed = erp.push(ROUTINGS, {**ROUTING, "operations": ROUTING["operations"][:1]})
    assert changed.status_code == 201 and changed.json()["number"] == 2
    version = RoutingVersion.objects.get(pk=body["id"])
    assert version.history.first().history_change_reason.startswith("API push by ERP test")


@pytest.mark.parametrize(("change", "pointer", "code"), [
    ({"operations": [{**ROUTING["operations"][0], "work_center": "NOPE"}]},
     "/operations/0/work_center", "unknown_work_center"),
    ({"operations": [{**ROUTING["operations"][0], "work_center": "ASM-1"}]},
     "/operations/0/work_center", "foreign_work_center"),
    ({"operations": [ROUTING["operations"][0], {**ROUTING["operations"][1], "sequence": 10}]},
     "/operations/1/sequence", "duplicate"),
    ({"operations": [{**ROUTING["operations"][0], "setup_minutes": "-1"}]},
     "/operations/0/setup_minutes", "min_value"),
    ({"operations": [{**ROUTING["operations"][0], "run_minutes": "-0.5"}]},
     "/operations/0/run_minutes", "min_value"),
    ({"part": "NOPE-1"}, "/part", "unknown_part"),
    ({"plant": "XXX"}, "/plant", "unknown_plant"),
    ({"operations": []}, "/operations", "required"),
])
def test_a_bad_routing_names_the_field_and_writes_nothing(shop_floor, change, pointer, code):
    response = shop_floor["erp"].push(ROUTINGS, {**ROUTING, **change})
    assert response.status_code == 400, response.content
    body = problem(response)
    assert [(e["pointer"], e["code"]) for e in body["errors"]][:1] == [(pointer, code)]
    assert nothing_written()


def test_work_centers_push_and_bad_shift_calendar(shop_floor):
    erp = shop_floor["erp"]
    body = {"work_centers": [{"plant": "CLT", "code": "FLASH-1", "name": "Flash",
                              "shift_starts": {"mon": ["07:00"], "sun": ["22:00"]}}]}
    response = erp.push(WORK_CENTERS, body)
    assert response.status_code == 201 and response.json()["created"][0]["code"] == "FLASH-1"
    assert erp.push(WORK_CENTERS, body).json()["unchanged"][0]["code"] == "FLASH-1"
    bad = erp.push(WORK_CENTERS, {"work_centers": [
        {"plant": "CLT", "code": "X-1", "name": "X", "shift_starts": {"mon": ["25:00"]}},
        {"plant": "NOPE", "code": "X-2", "name": "Y"}]})
    assert bad.status_code == 400
    assert [e["pointer"] for e in problem(bad)["errors"]] == [
        "/work_centers/0/shift_starts/mon", "/work_centers/1/plant"]
    assert not WorkCenter.objects.filter(code__startswith="X-").exists()


def test_rights_mes_reads_and_reports_erp_pushes(shop_floor):
    mes, erp = shop_floor["mes"], shop_floor["erp"]
    assert mes.push(ROUTINGS, ROUTING).status_code == 403
    assert mes.get(ROUTINGS).status_code == 200
    release(erp)
    work_order = WorkOrder.objects.get()
    assert erp.push(f"{WORK_ORDERS}{work_order.pk}/status/",
                    {"status": "acknowledged"}).status_code == 403


def test_the_mes_lists_its_work_orders_and_reads_the_document_as_sent(
        shop_floor, django_assert_num_queries):
    mes, erp = shop_floor["mes"], shop_floor["erp"]
    for number in range(1000001, 1000006):
        release(erp, number=str(number))
    release(erp, number="2000001", plant="CLT")  # held: no routing at Charlotte
    with django_assert_num_queries(5):  # key, MES filter page, operations, materials
        listed = mes.get(WORK_ORDERS, {"plant": "BER", "status": "pending"})
    assert listed.status_code == 200
    results = listed.json()["results"]
    assert len(results) == 5 and {r["status"] for r in results} == {"pending"}
    first = results[0]
    assert first["lineage"]["routing_version"] == 1
    assert [op["operation_code"] for op in first["operations"]] == ["KIT", "ASSY"]
    held = mes.get(WORK_ORDERS, {"status": "held"}).json()["results"]
    assert [h["hold_reasons"][0]["code"] for h in held] == ["no_routing"]
    work_order = WorkOrder.objects.get(number="1000001")
    document = mes.get(f"{WORK_ORDERS}{work_order.pk}/document/")
    assert document.status_code == 200
    assert document["Content-Type"] == "application/xml; charset=utf-8"
    assert document.content == work_order.document.encode()
    held_document = mes.get(f"{WORK_ORDERS}{held[0]['id']}/document/")
    assert held_document.status_code == 400 and problem(held_document)["errors"][0]["code"] == \
        "not_sent"
    other = make_system_client("MES other", "mes")
    assert other.get(WORK_ORDERS).json()["results"] == []
    assert other.get(f"{WORK_ORDERS}{work_order.pk}/document/").status_code == 404


def test_the_mes_reports_status_through_the_state_machine(shop_floor):
    mes = shop_floor["mes"]
    release(shop_floor["erp"])
    url = f"{WORK_ORDERS}{WorkOrder.objects.get().pk}/status/"
    acknowledged = mes.push(url, {"status": "acknowledged"}, key="ack-1")
    assert acknowledged.status_code == 200 and acknowledged.json()["status"] == "acknowledged"
    assert mes.push(url, {"status": "acknowledged"}, key="ack-1")["Idempotent-Replayed"] == "true"
    assert mes.push(url, {"status": "acknowledged"}).json()["status"] == "acknowledged"
    conflict = mes.push(url, {"status": "completed"})
    assert conflict.status_code == 200  # acknowledged → completed is allowed
    back = mes.push(url, {"status": "in_progress"})
    assert back.status_code == 409, back.content
    assert problem(back)["errors"][0]["code"] == \
        "transition_not_allowed"
    unknown = mes.push(url, {"status": "held"})
    assert unknown.status_code == 400 and problem(unknown)["errors"][0]["pointer"] == "/status"
    work_order = WorkOrder.objects.get()
    assert work_order.status == "completed" and work_order.finished_at is not None


def _ack(request_ids, action=AckAction.ACCEPTED):
    now = datetime(2027, 1, 19, 12, tzinfo=UTC)
    return acknowledgement_xml(request_ids, envelope=Envelope("MES", "ack-1", now),
                               original_bod_id="1000001-1", original_created_at=now,
                               action=action, reason="Line 2 down")


def test_the_mes_acknowledges_with_b2mml(shop_floor):
    mes = shop_floor["mes"]
    release(shop_floor["erp"])
    url = f"{WORK_ORDERS}{WorkOrder.objects.get().pk}/status/"
    wrong = mes.post(url, _ack(["9999"]), content_type="application/xml",
                     HTTP_IDEMPOTENCY_KEY="x-1")
    assert wrong.status_code == 400 and problem(wrong)["errors"][0]["code"] == "other_work_order"
    bad = mes.post(url, b"<AcknowledgeOperationsSchedule/>", content_type="application/xml",
                   HTTP_IDEMPOTENCY_KEY="x-2")
    assert bad.status_code == 400
    entity = mes.post(url, b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM '
                           b'"file:///etc/passwd">]><x>&e;</x>', content_type="application/xml",
                      HTTP_IDEMPOTENCY_KEY="x-3")
    assert entity.status_code == 400 and problem(entity)["errors"][0]["code"] == \
        "doctype_forbidden"
    assert WorkOrder.objects.get().status == "pending"
    rejected = mes.post(url, _ack(["1000001"], AckAction.REJECTED),
                        content_type="application/xml", HTTP_IDEMPOTENCY_KEY="x-4")
    assert rejected.status_code == 200 and rejected.json()["status"] == "pending"
    assert "Line 2 down" in AttentionItem.objects.get(kind="work_order_rejected").reason
    ok = mes.post(url, _ack(["1000001"]), content_type="application/xml",
                  HTTP_IDEMPOTENCY_KEY="x-5")
    assert ok.status_code == 200 and ok.json()["status"] == "acknowledged"


def test_routing_operations_keep_their_history(shop_floor):
    operation = RoutingOperation.objects.get(version=shop_floor["routing"], sequence=20)
    assert operation.history.count() == 1
