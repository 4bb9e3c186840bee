"""A process engineer fixes a held work order in a real headless Chromium: the flow monitor
lists it, the work order page says why, a new routing draft gets the missing operation inline,
is released with a reason and a date, and "Rebuild and send" sends it. (Same browser set-up
and skip rules as test_monitoring.py.)"""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connections

from thread.bom.models import MBomLine
from thread.core.roles import setup_roles
from thread.orders.models import ProductionOrder, RoutingVersion, WorkOrder
from thread.orders.routings.services import OperationInput, WorkCenterInput, routing_push, work_centers_upsert

from ..orders import conftest as orders_fixtures
from ..orders import work_order_support
from ..orders.work_order_support import release, set_status
from .conftest import PASSWORD, login

# The orders tests' fixtures: the bike with its mBOMs at both plants, and the shop floor.
plants, bike = orders_fixtures.plants, orders_fixtures.bike
shop_floor = work_order_support.shop_floor

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def held(live_server, shop_floor):
    """Charlotte's routing lacks 0090-FLASH, which its mBOM points the motor to: the released
    order's work order is held. A process engineer."""
    setup_roles()
    erp = shop_floor["erp"]
    work_centers_upsert(centers=[WorkCenterInput(plant="CLT", code="FLASH-1", name="Flash")],
                        actor=None, reason="t")
    routing_push(system=erp.system, part="BK-100", plant="CLT", effective_from=date(2026, 1, 1),
                 operations=[OperationInput(sequence=10, operation_code="FIN",
                                            work_center="FIN-A")], actor=None, reason="t")
    release(erp, number="2000001", plant="CLT", status="planned")
    order = ProductionOrder.objects.get(number="2000001")
    MBomLine.objects.filter(version=order.mbom_version, part__number="MT-500").update(
        operation="0090-FLASH")
    set_status(order, "released")
    engineer = get_user_model().objects.create_user("engineer", password=PASSWORD,
                                                    is_staff=True)
    engineer.groups.add(Group.objects.get(name="process engineering"))
    return {"url": live_server.url, "work_order": WorkOrder.objects.get()}


def test_a_process_engineer_fixes_the_routing_and_rebuilds_the_held_work_order(page, held):
    try:
        scenario(page, held)
    finally:
        connections.close_all()  # the ORM calls under Playwright's loop (see test_monitoring.py)


def scenario(page, held) -> None:
    base, work_order = held["url"], held["work_order"]
    assert work_order.status == "held"
    login(page, base, "engineer", "/admin/flows/monitor/")
    row = page.locator("#attention-items tr[data-kind=work_order_held]")
    assert "0090-FLASH" in row.inner_text()
    row.get_by_role("link").click()
    assert "0090-FLASH" in page.locator("#hold-reasons").inner_text()
    page.screenshot(path=page.screenshots / "1-held.png", full_page=True)

    # A new draft of Charlotte's routing, from the routing list's action.
    page.goto(f"{base}/admin/orders/routing/?plant__id__exact={work_order.plant_id}")
    page.locator("#result_list input[name=_selected_action]").first.check()
    page.select_option("select[name=action]", "start_draft")
    page.fill("input[name=reason]", "Add the firmware station")
    page.click("button[name=index]")
    draft = RoutingVersion.objects.get(status="draft")
    assert page.url.endswith(f"/admin/orders/routingversion/{draft.pk}/change/")

    # The missing operation, added inline and saved with a reason.
    page.locator("#operations-group .add-row a").click()
    row = page.locator("#operations-group tr.dynamic-operations").last
    row.locator("input[name$=-sequence]").fill("90")
    row.locator("input[name$=-operation_code]").fill("0090-FLASH")
    row.locator("select[name$=-work_center]").select_option(label="FLASH-1 (CLT)")
    row.locator("input[name$=-run_minutes]").fill("3.5")
    page.fill("#id_reason", "Firmware is flashed at station FLASH-1")
    page.click("input[name=_continue]")
    assert page.locator(".errornote").count() == 0, page.locator("#content").inner_text()
    assert list(draft.operations.values_list("sequence", "operation_code")) == [
        (10, "FIN"), (90, "0090-FLASH")]
    assert "added" in page.locator("#routing-diff").inner_text()

    # Released with a reason and its effective date.
    page.fill("#routing-reason", "Firmware station added")
    page.fill("#routing-effective", "2026-01-01")
    page.get_by_role("button", name="Release").click()
    assert "Released" in page.locator(".messagelist").inner_text()
    draft.refresh_from_db()
    assert (draft.status, draft.number, draft.effective_from) == ("released", 2, date(2026, 1, 1))

    # Rebuild and send, with a reason.
    page.goto(f"{base}/admin/orders/workorder/{work_order.pk}/change/")
    page.fill("#rebuild-reason", "Routing v2 has the firmware station")
    page.get_by_role("button", name="Rebuild and send").click()
    assert "Rebuilt and sent" in page.locator(".messagelist").inner_text()
    assert "FLASH-1" in page.locator("#work-order-operations").inner_text()
    assert "ProcessOperationsSchedule" in page.locator("#work-order-document").inner_text()
    page.screenshot(path=page.screenshots / "2-sent.png", full_page=True)
    work_order.refresh_from_db()
    assert (work_order.status, work_order.build_count) == ("pending", 2)
    page.goto(f"{base}/admin/flows/monitor/")
    assert page.locator("#attention-none").is_visible()
