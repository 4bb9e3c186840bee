"""The feedback admin in a real headless Chromium, as its people use it: an analyst sets a plant's
default threshold and tightens it (each save asks why; history keeps both), the quality group
acknowledges a quality event with the changelist's action, and an auditor reads results,
roll-ups and order progress readings but cannot act. (Same browser set-up and skip rules as
test_monitoring.py.)"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connections
from django.utils import timezone

from thread.catalog.models import Plant
from thread.core.roles import setup_roles
from thread.feedback.models import FeedbackThreshold, QualityEvent
from thread.feedback.services import QualityEventInput, quality_event_record

from ..orders.conftest import bike, plants  # noqa: F401 (fixtures)
from .conftest import PASSWORD, login

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def floor(live_server, bike):  # noqa: F811
    setup_roles()
    for role in ("analyst", "quality", "auditor"):
        user = get_user_model().objects.create_user(role, password=PASSWORD, is_staff=True)
        user.groups.add(Group.objects.get(name=role))
    event, _ = quality_event_record(
        given=QualityEventInput(defect_code="FRAME-CRACK", quantity=Decimal(2), plant="BER",
                                part="BK-100", revision="A",
                                occurred_at=timezone.now() - timedelta(hours=1)),
        system=None, actor=None, reason="found at final inspection")
    return {"url": live_server.url, "event": event}


def test_analysts_set_thresholds_quality_acknowledges_auditors_read(page, floor):
    try:
        scenario(page, floor)
    finally:
        connections.close_all()


def scenario(page, floor) -> None:
    base = floor["url"]
    login(page, base, "analyst", "/admin/feedback/feedbackthreshold/add/")
    page.select_option("#id_plant", str(Plant.objects.get(code="BER").pk))
    page.fill("#id_min_first_pass_yield", "0.9")
    page.fill("#id_max_run_vs_standard", "1.3")
    page.fill("[name=reason]", "Berlin's targets for 2027")
    page.click("input[name=_continue]")
    assert "was added successfully" in page.locator(".messagelist").inner_text()
    page.fill("#id_min_first_pass_yield", "0.95")
    page.fill("[name=reason]", "Tighter after the frame change")
    page.click("input[name=_save]")
    assert "was changed successfully" in page.locator(".messagelist").inner_text()
    threshold = FeedbackThreshold.objects.get(plant__code="BER", part=None)
    assert (threshold.min_first_pass_yield, threshold.max_run_vs_standard,
            threshold.window_days) == (Decimal("0.95"), Decimal("1.3"), 7)
    assert [h.history_change_reason for h in threshold.history.order_by("history_id")] == [
        "Berlin's targets for 2027", "Tighter after the frame change"]
    assert {h.history_user.username for h in threshold.history.all()} == {"analyst"}

    login(page, base, "quality", "/admin/feedback/qualityevent/")
    page.locator("#result_list tbody input.action-select").first.check()
    page.select_option("select[name=action]", "acknowledge")
    page.click("button[name=index]")
    assert "1 quality event(s) acknowledged." in page.locator(".messagelist").inner_text()
    event = QualityEvent.objects.get(pk=floor["event"].pk)
    assert event.status == "acknowledged"
    assert event.history.latest().history_user.username == "quality"

    login(page, base, "auditor", "/admin/feedback/rollupday/")
    assert page.locator("#result_list tbody tr").count() == 1  # the event's day
    for path in ("operationresult", "orderprogress", "feedbackthreshold"):
        assert page.goto(f"{base}/admin/feedback/{path}/").status == 200, path
    page.goto(f"{base}/admin/feedback/qualityevent/")
    assert page.locator("select[name=action] option[value=acknowledge]").count() == 0
