"""Alerts back to engineering: a yield under the part's target (or the plant's default) and a run
time above standard by the factor are told to the PLM once per crossing, and cleared when the
figures are back; a defect code new to the revision is told once."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django_q.models import Schedule

from thread.catalog.effectivity import plant_today
from thread.catalog.models import Part
from thread.feedback.digests import digests_send
from thread.feedback.models import FeedbackAlert, FeedbackDigest, FeedbackThreshold
from thread.flows import services as flows
from thread.flows.models import OutboundMessage

from .conftest import EVENTS, RESULTS, result


@pytest.fixture
def plm_peer(plm):
    """The PLM Thread sends to (any connector: the message is what is checked)."""
    plm.system = flows.system_delivery_configure(
        system=plm.system, actor=None, reason="t", connector="rest",
        base_url="http://127.0.0.1:9/plm")
    return plm


def told(kind: str) -> list[OutboundMessage]:
    return list(OutboundMessage.objects.filter(topic="feedback.alert", payload__kind=kind)
                .order_by("id"))


def test_low_yield_is_told_once_per_crossing_and_clears(work_order, mes, plm_peer, plants):
    FeedbackThreshold.objects.create(plant=plants["BER"], min_first_pass_yield=Decimal("0.9"))
    FeedbackThreshold.objects.create(plant=plants["BER"], part=Part.objects.get(number="BK-100"),
                                     min_first_pass_yield=Decimal("0.8"), window_days=7)
    mes.push(RESULTS, result(good_quantity="10"))  # 100 %
    assert told("low_yield") == []
    mes.push(RESULTS, result(good_quantity="2", scrap_quantity="8", scrap_reason="DENT"))  # 60 %
    mes.push(RESULTS, result(good_quantity="1", scrap_quantity="2", scrap_reason="DENT"))  # 57 %
    [message] = told("low_yield")  # the part's own target (0.8), once for the crossing
    assert message.system == plm_peer.system
    assert message.ordering_key == "revision:BK-100|A"
    assert (message.payload["operation"], message.payload["threshold"]) == ("KIT", "0.800000")
    assert Decimal(message.payload["measured"]) < Decimal("0.8")
    alert = FeedbackAlert.objects.get(kind="low_yield")
    assert alert.cleared_at is None and alert.result is not None
    mes.push(RESULTS, result(good_quantity="60"))  # back over 0.8 in the window
    alert.refresh_from_db()
    assert alert.cleared_at is not None
    mes.push(RESULTS, result(good_quantity="0", scrap_quantity="60", scrap_reason="DENT"))
    assert len(told("low_yield")) == 2  # a new crossing is a new alert


def test_run_time_above_standard_by_the_factor(work_order, mes, plm_peer, plants):
    FeedbackThreshold.objects.create(plant=plants["BER"], max_run_vs_standard=Decimal("1.25"))
    mes.push(RESULTS, result(good_quantity="10", run_minutes="16"))  # 1.6 vs 1.5: fine
    assert told("slow_run") == []
    mes.push(RESULTS, result(good_quantity="10", run_minutes="40"))  # mean 2.8 vs 1.5
    [message] = told("slow_run")
    assert Decimal(message.payload["measured"]) > Decimal("1.25")


def test_a_new_defect_code_is_told_once_per_revision(work_order, mes, plm_peer):
    event = {"work_order": "1000001", "operation": 20, "quantity": "1",
             "occurred_at": "2026-12-01T10:00:00+01:00"}
    mes.push(EVENTS, {**event, "defect_code": "CRACK", "description": "Weld crack"})
    mes.push(EVENTS, {**event, "defect_code": "CRACK"})
    mes.push(EVENTS, {**event, "defect_code": "SCRATCH"})
    assert [m.payload["defect_code"] for m in told("new_defect")] == ["CRACK", "SCRATCH"]
    assert "Weld crack" in told("new_defect")[0].payload["detail"]


def test_without_a_threshold_or_a_plm_nothing_is_told(work_order, mes):
    mes.push(RESULTS, result(good_quantity="1", scrap_quantity="9", scrap_reason="DENT"))
    mes.push(EVENTS, {"work_order": "1000001", "quantity": "1", "defect_code": "CRACK",
                      "occurred_at": "2026-12-01T10:00:00+01:00"})
    assert not FeedbackAlert.objects.filter(kind="low_yield").exists()
    assert FeedbackAlert.objects.filter(kind="new_defect").count() == 1  # recorded, no PLM
    assert not OutboundMessage.objects.filter(topic="feedback.alert").exists()


def test_the_digest_is_sent_once_per_revision_plant_and_period(work_order, mes, plm_peer,
                                                               plants):
    yesterday = plant_today(plants["BER"]) - timedelta(days=1)
    ended = f"{yesterday.isoformat()}T12:00:00+01:00"
    mes.push(RESULTS, result(good_quantity="9", scrap_quantity="1", scrap_reason="DENT",
                             started_at=f"{yesterday.isoformat()}T10:00:00+01:00",
                             ended_at=ended))
    mes.push(RESULTS, result(operation=20, good_quantity="10",
                             started_at=f"{yesterday.isoformat()}T10:00:00+01:00",
                             ended_at=ended))
    assert digests_send() == 1
    assert digests_send() == 0  # the same period again: nothing
    [message] = OutboundMessage.objects.filter(topic="feedback.digest")
    assert (message.payload["part"], message.payload["plant"], message.payload["to"]) == (
        "BK-100", "BER", yesterday.isoformat())
    assert message.payload["total"]["results"] == 2
    assert message.payload["by_operation"]["KIT"]["first_pass_yield"] == "0.900000"
    assert FeedbackDigest.objects.get().figures == {
        k: message.payload[k] for k in ("total", "by_operation")}
    call_command("setup_thread", stdout=io.StringIO())
    assert Schedule.objects.get(name="send feedback digests").schedule_type == Schedule.WEEKLY
