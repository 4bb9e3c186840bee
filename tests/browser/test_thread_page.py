"""The thread page in a real headless Chromium, as an auditor uses it: from a work order's admin
page one click to the thread of the revision it was built from; the charts render with data
points; the lineage and built-from links lead where they say; a moment typed in the form shows
the thread as it stood then. (Same browser set-up and skip rules as test_monitoring.py.)"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connections

from thread.catalog.models import PartRevision
from thread.core.roles import setup_roles
from thread.demo.seed import seed_demo
from thread.orders.models import WorkOrder

from ..feedback.test_thread_story import bike_results
from .conftest import PASSWORD, login

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(live_server):
    seed_demo()
    setup_roles()
    user = get_user_model().objects.create_user("audit-browser", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="auditor"))
    work_order = WorkOrder.objects.get(number="1000456", plant__code="BER")
    bike_results(work_order)
    return {"url": live_server.url, "work_order": work_order}


def test_an_auditor_follows_a_work_order_to_its_thread_and_back_in_time(page, demo):
    try:
        scenario(page, demo)
    finally:
        connections.close_all()


def scenario(page, demo) -> None:
    base, work_order = demo["url"], demo["work_order"]
    login(page, base, "audit-browser", f"/admin/orders/workorder/{work_order.pk}/change/")
    page.click("a.threadlink")
    assert page.url.endswith("/admin/thread/BK-100/B/")
    assert page.locator("[data-field=status]").inner_text() == "released"
    # The charts: yield and run time per operation at Berlin, the Pareto of scrap.
    yield_points = page.locator("[data-chart=yield-BER] svg circle.point")
    assert yield_points.count() == 4  # one day, four operations
    assert "PACK" in page.locator("[data-chart=yield-BER] svg").inner_html()
    assert page.locator("[data-chart=run-BER] svg line.reference").count() == 1
    assert page.locator("[data-chart=scrap] svg rect.bar").count() == 1
    assert "MISALIGNED: 2" in page.locator("[data-chart=scrap] svg").inner_html()
    # Built from: the work order's mBOM version, one click away, and the lineage behind it.
    row = page.locator("#production-orders tr[data-order='1000456']")
    row.locator("a.built-from", has_text="mBOM v1").click()
    assert f"/admin/bom/mbomversion/{work_order.mbom_version_id}/change/" in page.url
    page.go_back()
    page.locator(".mbom-versions a", has_text="lineage").first.click()
    assert "/accountability/" in page.url and page.locator("#content").count() == 1
    page.go_back()
    # Back in time: the moment the revision was released, before any rules or orders.
    released = PartRevision.objects.get(part__number="BK-100", label="B").history.get(
        status="released", history_type="~").history_date
    page.fill("#thread-moment input[name=at]", released.isoformat())
    page.click("#thread-moment input[type=submit]")
    assert "As recorded at" in page.locator("#thread-moment").inner_text()
    assert "No production order of this revision then." in page.locator(
        "#production-orders").inner_text()
    assert page.locator("#thread-charts svg circle.point").count() == 0
    # …and a step of the timeline opens the thread as it stood right after it.
    page.goto(f"{base}/admin/thread/BK-100/B/")
    step = page.locator("#thread-timeline a.moment").last
    step.click()
    assert "at=" in page.url and "As recorded at" in page.locator("#thread-moment").inner_text()
    assert page.locator("[data-field=status]").inner_text() == "draft"  # its first step
