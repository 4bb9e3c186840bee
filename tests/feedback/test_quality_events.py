"""Quality events in: of a work order's operation or of a part revision at a plant, counted on
their day by defect code, recorded once per event id; quality acknowledges them."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from thread.feedback.models import QualityEvent, RollupDay

from ..conftest import problem
from ..support.openapi import assert_documented
from .conftest import EVENTS


def event(**fields) -> dict:
    return {"work_order": "1000001", "operation": 20, "defect_code": "PAINT-RUN", "quantity": "2",
            "occurred_at": timezone.now().isoformat(), "description": "Runs on the down tube",
            **fields}


def test_an_event_is_counted_on_its_day_once_and_quality_acknowledges_it(work_order, mes,
                                                                       person):
    answer = mes.push(EVENTS, event(event_id="q-1"))
    assert answer.status_code == 201, answer.content
    assert_documented(answer, EVENTS, "post")
    body = answer.json()
    assert (body["operation_code"], body["work_center_code"], body["revision"]) == (
        "ASSY", "ASM-1", "A")
    assert mes.push(EVENTS, event(event_id="q-1")).json()["id"] == body["id"]  # a repeat
    day = RollupDay.objects.get()
    assert (day.quality_events, {k: Decimal(v) for k, v in day.defects.items()}) == (
        1, {"PAINT-RUN": 2})
    # Of a part revision at a plant, with no work order.
    loose = mes.push(EVENTS, event(work_order="", operation=None, plant="BER", part="BK-100",
                                   revision="A", defect_code="LOOSE-BOLT", quantity="1"))
    assert loose.status_code == 201, loose.content
    assert QualityEvent.objects.count() == 2
    quality = person("quality")
    quality.cookies["csrftoken"] = quality.csrf_token
    done = quality.post(f"{EVENTS}{body['id']}/acknowledge/", {"reason": "8D opened"},
                        format="json", HTTP_IDEMPOTENCY_KEY="ack-1",
                        HTTP_X_CSRFTOKEN=quality.csrf_token)
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "acknowledged"
    acknowledged = QualityEvent.objects.get(pk=body["id"])
    assert acknowledged.history.first().history_change_reason == "8D opened"
    operator = person("operator")
    operator.cookies["csrftoken"] = operator.csrf_token
    assert operator.post(f"{EVENTS}{loose.json()['id']}/acknowledge/", {"reason": "x"},
                         format="json", HTTP_IDEMPOTENCY_KEY="ack-2",
                         HTTP_X_CSRFTOKEN=operator.csrf_token).status_code == 403


BAD_EVENTS = [
    ({"quantity": "0"}, "/quantity"),
    ({"quantity": "-3"}, "/quantity"),
    ({"work_order": "9999"}, "/work_order"),
    ({"operation": 70}, "/operation"),
    ({"disposition": "burn"}, "/disposition"),
    ({"unit": "kg"}, "/unit"),
    ({"work_order": "", "operation": None, "plant": "BER", "part": "BK-100", "revision": "Z"},
     "/revision"),
    ({"work_order": "", "operation": None, "part": "BK-100", "revision": "A"}, "/plant"),
]


def test_bad_events_are_refused_and_nothing_is_written(work_order, mes):
    for fields, pointer in BAD_EVENTS:
        answer = mes.push(EVENTS, event(**fields))
        assert answer.status_code == 400, (fields, answer.content)
        assert pointer in [e["pointer"] for e in problem(answer)["errors"]], fields
        assert not QualityEvent.objects.exists() and not RollupDay.objects.exists()
