"""An analyst decides on an ERP change that came after the MES started the work order, in a
real headless Chromium: the flow monitor lists it, the work order page says what the ERP
changed, and "Send the ERP's change to the MES" writes the ChangeOperationsSchedule with the
analyst's reason. (Same browser set-up and skip rules as test_monitoring.py.)"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connections

from thread.core.roles import setup_roles
from thread.orders.models import WorkOrder
from thread.orders.work_orders.services import work_order_status_report

from ..orders import conftest as orders_fixtures
from ..orders import work_order_support
from ..orders.work_order_support import release
from .conftest import PASSWORD, login

plants, bike = orders_fixtures.plants, orders_fixtures.bike
shop_floor = work_order_support.shop_floor

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def change_after_start(live_server, shop_floor):
    """Berlin's MES started work order 1000001 (25 pcs); then the ERP changed it to 30."""
    setup_roles()
    release(shop_floor["erp"], qty="25")
    for status in ("acknowledged", "in_progress"):
        work_order_status_report(work_order=WorkOrder.objects.get(), status=status, actor=None,
                                 reason="the MES reports")
    release(shop_floor["erp"], qty="30")
    analyst = get_user_model().objects.create_user("analyst", password=PASSWORD, is_staff=True)
    analyst.groups.add(Group.objects.get(name="analyst"))
    return {"url": live_server.url, "work_order": WorkOrder.objects.get()}


def test_an_analyst_sends_the_erp_change_the_started_work_order_waited_for(
        page, change_after_start):
    try:
        scenario(page, change_after_start)
    finally:
        connections.close_all()  # the ORM calls under Playwright's loop (see test_monitoring.py)


def scenario(page, held) -> None:
    base, work_order = held["url"], held["work_order"]
    assert (work_order.awaiting_decision, work_order.quantity) == ("erp_change", 25)
    login(page, base, "analyst", "/admin/flows/monitor/")
    row = page.locator("#attention-items tr[data-kind=work_order_decision]")
    assert "the quantity from 25 to 30 pcs" in row.inner_text()
    row.get_by_role("link").click()
    assert "after the MES started it" in page.locator("#decision-detail").inner_text()
    page.screenshot(path=page.screenshots / "1-waiting.png", full_page=True)
    page.fill("#decision-reason", "Plant confirmed: 5 more fit in this run")
    page.get_by_role("button", name="Send the ERP's change to the MES").click()
    assert "change was sent" in page.locator(".messagelist").inner_text()
    assert page.locator("#decision").count() == 0
    assert "work_order_change" in page.locator("#work-order-messages").inner_text()
    assert "ChangeOperationsSchedule" in page.locator("#work-order-document").inner_text()
    page.screenshot(path=page.screenshots / "2-sent.png", full_page=True)
    work_order.refresh_from_db()
    assert (work_order.quantity, work_order.status, work_order.changes_sent) == (
        30, "in_progress", 1)
    assert work_order.history.first().history_change_reason == \
        "Plant confirmed: 5 more fit in this run"
    page.goto(f"{base}/admin/flows/monitor/")
    assert page.locator("#attention-none").is_visible()
