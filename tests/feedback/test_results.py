"""Operation results in: idempotent, checked whole (nothing stored half), rolled up in the same
transaction; the last operation's completion completes the work order and tells the ERP."""

from __future__ import annotations

from decimal import Decimal

from thread.feedback.models import OperationResult, RollupDay
from thread.feedback.rollups import Figures
from thread.feedback.services import rollups_recompute, rollups_recomputed
from thread.flows.models import InboundMessage, OutboundMessage

from ..conftest import problem
from ..support.openapi import assert_documented
from .conftest import RESULTS, ROLLUPS, result


def test_a_result_is_recorded_once_and_rolled_up(work_order, mes):
    sent = result(report_id="r-1", good_quantity="9", scrap_quantity="1",
                  scrap_reason="SCRATCH", setup_minutes="12", run_minutes="15")
    answer = mes.push(RESULTS, sent, key="k-1")
    assert answer.status_code == 201, answer.content
    assert_documented(answer, RESULTS, "post")
    body = answer.json()
    assert (body["operation_code"], body["work_center"], body["revision"]) == ("KIT", "KIT-1", "A")
    assert body["work_order_status"] == "in_progress"  # the MES is working on it
    # The same request again (same key): the stored answer. The same report, new key: itself.
    assert mes.push(RESULTS, sent, key="k-1").json() == body
    again = mes.push(RESULTS, result(report_id="r-1", good_quantity="9", scrap_quantity="1",
                                     scrap_reason="SCRATCH"), key="k-2")
    assert (again.status_code, again.json()["id"]) == (200, body["id"])
    assert OperationResult.objects.count() == 1
    day = RollupDay.objects.get()
    assert (day.results, day.good_quantity, day.scrap_quantity) == (1, 9, 1)
    assert {k: Decimal(v) for k, v in day.scrap_by_reason.items()} == {"SCRATCH": 1}
    figures = Figures().add(day)
    assert figures.first_pass_yield == Decimal("0.9")
    assert figures.run_per_unit_mean == Decimal("1.5")  # 15 min for 10 units
    assert figures.run_vs_standard == Decimal(1)  # KIT's standard: 1.5 min per unit
    assert figures.setup_vs_standard == Decimal("1.2")  # 12 against 10
    listed = mes.get(ROLLUPS, {"part": "BK-100", "plant": "BER"})
    assert_documented(listed, ROLLUPS)
    assert listed.json()["results"][0]["figures"]["first_pass_yield"] == "0.900000"


BAD_RESULTS = [
    ({"work_order": "9999"}, "/work_order", "unknown_work_order"),
    ({"operation": 30}, "/operation", "unknown_operation"),
    ({"operation": None, "operation_code": "PAINT"}, "/operation_code", "unknown_operation"),
    ({"good_quantity": "-1"}, "/good_quantity", "negative"),
    ({"good_quantity": "0"}, "/good_quantity", "not_positive"),
    ({"scrap_quantity": "2"}, "/scrap_reason", "required"),
    ({"unit": "kg"}, "/unit", "unit_mismatch"),
    ({"unit": "bananas"}, "/unit", "unknown_unit"),
    ({"work_center": "PAINT-9"}, "/work_center", "unknown_work_center"),
    ({"corrects": "nope"}, "/corrects", "unknown_report"),
    ({"run_minutes": "-5"}, "/run_minutes", None),
]


def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(work_order, mes):
    for n, (fields, pointer, code) in enumerate(BAD_RESULTS, start=1):
        answer = mes.push(RESULTS, result(**fields))
        assert answer.status_code == 400, (fields, answer.content)
        errors = problem(answer).get("errors", [])
        assert any(e["pointer"] == pointer and (code is None or e["code"] == code)
                   for e in errors), (fields, errors)
        assert not OperationResult.objects.exists() and not RollupDay.objects.exists()
        work_order.refresh_from_db()
        assert work_order.status == "pending"  # untouched
        assert InboundMessage.objects.filter(status="rejected").count() == n  # the one write


def test_time_going_backwards_is_refused(work_order, mes):
    body = result()
    body["started_at"], body["ended_at"] = body["ended_at"], body["started_at"]
    answer = mes.push(RESULTS, body)
    assert answer.status_code == 400
    assert problem(answer)["errors"][0] == {"pointer": "/ended_at", "code": "time_backwards",
                                            "detail": "Ends before it starts."}
    assert not OperationResult.objects.exists()


def test_malformed_json_and_another_mes_are_refused(work_order, mes):
    broken = mes.post(RESULTS, b'{"work_order": ', content_type="application/json",
                      HTTP_IDEMPOTENCY_KEY="bad-1")
    assert broken.status_code == 400
    from ..conftest import make_system_client

    other = make_system_client("MES other", "mes")
    answer = other.push(RESULTS, result())
    assert answer.status_code == 400
    assert problem(answer)["errors"][0]["code"] == "unknown_work_order"
    assert not OperationResult.objects.exists()


def test_the_last_operation_completes_the_work_order_and_the_erp_hears_of_it(work_order, mes,
                                                                             erp):
    assert mes.push(RESULTS, result(operation=10, good_quantity="25", setup_minutes="10",
                                    run_minutes="40", operation_completed=True)).status_code == 201
    work_order.refresh_from_db()
    assert work_order.status == "in_progress"  # not the last operation
    assert mes.push(RESULTS, result(operation=20, good_quantity="23", scrap_quantity="2",
                                    scrap_reason="MISALIGNED", run_minutes="1000",
                                    operation_completed=True)).status_code == 201
    work_order.refresh_from_db()
    assert work_order.status == "completed"
    told = OutboundMessage.objects.get(topic="work_order.completed")
    assert told.system == erp.system
    assert told.ordering_key == "production_order:BER:1000001"
    assert (told.payload["produced_quantity"], told.payload["scrapped_quantity"]) == (
        "23.000000", "2.000000")
    assert told.payload["production_order"] == "1000001"
    # Closed: no more results, with its own problem type.
    late = mes.push(RESULTS, result(operation=20, good_quantity="1"))
    assert late.status_code == 409
    assert problem(late)["type"] == "/problems/work-order-closed"
    assert OperationResult.objects.count() == 2


def test_a_correction_replaces_the_result_in_the_rollups(work_order, mes):
    mes.push(RESULTS, result(report_id="r-1", good_quantity="10", setup_minutes="30"))
    fixed = mes.push(RESULTS, result(report_id="r-2", corrects="r-1", good_quantity="8",
                                     scrap_quantity="2", scrap_reason="DENT",
                                     setup_minutes="20"))
    assert fixed.status_code == 201, fixed.content
    day = RollupDay.objects.get()
    assert (day.results, day.good_quantity, day.scrap_quantity, day.setup_sum) == (1, 8, 2, 20)
    twice = mes.push(RESULTS, result(report_id="r-3", corrects="r-1", good_quantity="7"))
    assert problem(twice)["errors"][0]["code"] == "corrected_already"
    incremental = {(d.plant_id, d.revision_id, d.operation_code, d.work_center_code, d.day):
                   Figures().add(d) for d in RollupDay.objects.all()}
    recomputed = {(k.plant_id, k.revision_id, k.operation_code, k.work_center_code, k.day): f
                  for k, f in rollups_recomputed().items()}
    assert incremental == recomputed
    assert rollups_recompute() == 1
