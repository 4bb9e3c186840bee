"""An operator answers drift in a real headless Chromium: Berlin's BOMs were edited by hand in
InvenTree (a local server answering as InvenTree's API does) — the frame's tube length, the
bike's drive-unit line deleted —, the drift check found both, the flow monitor counts them, the
drift page shows Thread's and InvenTree's values, and the operator acknowledges the frame's and
re-pushes the bike's, each with a reason; the re-push's delivery puts the bike's BOM back, the
frame keeps its acknowledged length, and the next check finds nothing new. (Same browser set-up and skip rules
as test_monitoring.py.)"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connections

from thread.core.roles import setup_roles
from thread.flows import drift_check, outbox
from thread.flows.choices import DriftStatus, DriftTrigger
from thread.flows.delivery import drain
from thread.flows.models import DriftFinding, OutboundMessage

from ..orders import conftest as orders_fixtures
from .conftest import PASSWORD, login

plants, bike, inventree = orders_fixtures.plants, orders_fixtures.bike, orders_fixtures.inventree

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def drifted(live_server, inventree, erp):
    """Berlin's mBOMs delivered to InvenTree, then the frame's tube length edited and the
    bike's drive-unit line deleted by hand there; one drift check has run."""
    setup_roles()
    for charlotte in OutboundMessage.objects.filter(ordering_key__startswith="mbom:CLT:"):
        outbox.outbound_message_cancel(message=charlotte, actor=None, reason="not this ERP")
    drain(budget_seconds=30)
    assert not OutboundMessage.objects.filter(status="pending").exists()
    def items_of(ipn):
        parent = next(pk for pk, p in inventree.parts.items() if p["IPN"] == ipn)
        return {inventree.parts[i["sub_part"]]["IPN"]: pk
                for pk, i in inventree.bom_items.items() if i["part"] == parent}

    inventree.bom_items[items_of("FR-200")["TB-310"]]["quantity"] = Decimal(1300)
    del inventree.bom_items[items_of("BK-100")["MT-500"]]
    drift_check.drift_check_run(system=erp.system, trigger=DriftTrigger.SCHEDULE)
    operator = get_user_model().objects.create_user("operator", password=PASSWORD, is_staff=True)
    operator.groups.add(Group.objects.get(name="operator"))
    return {"url": live_server.url, "system": erp.system, "fake": inventree,
            "operator": operator}


def test_an_operator_acknowledges_one_finding_and_re_pushes_the_other(page, drifted):
    try:
        scenario(page, drifted)
    finally:
        connections.close_all()  # the ORM calls under Playwright's loop (see test_monitoring.py)


def scenario(page, drifted) -> None:
    base, system = drifted["url"], drifted["system"]
    login(page, base, "operator", "/admin/flows/monitor/")
    row = page.locator(f"#drift-systems tr[data-system='{system.name}']")
    assert row.locator("[data-col=open]").inner_text().strip() == "2"
    assert "Completed" in row.locator("[data-col=last-check]").inner_text()
    row.get_by_role("link", name=system.name).click()
    findings = page.locator("#drift-findings")
    tube = findings.locator("tr", has_text="FR-200|A/10")
    assert "mbom:BER:FR-200" in tube.inner_text()
    assert tube.locator("[data-col=peer]").inner_text() == "1300"
    line = findings.locator("tr", has_text="BK-100|A/20")
    assert "1 of MT-500|A" in line.locator("[data-col=thread]").inner_text()
    assert "missing" in line.locator("[data-col=peer]").inner_text()
    assert page.locator("#drift-run-list tr[data-state=completed]").count() == 1
    page.screenshot(path=page.screenshots / "1-found.png", full_page=True)

    tube.get_by_label("reason to acknowledge").fill("Berlin cuts 1300 mm tubes on purpose")
    tube.get_by_role("button", name="Acknowledge").click()
    assert "Acknowledged" in page.locator(".messagelist").inner_text()
    line = page.locator("#drift-findings tr", has_text="BK-100|A/20")
    line.get_by_label("reason to re-push").fill("InvenTree must match engineering")
    line.get_by_role("button", name="Re-push").click()
    assert "is on its way" in page.locator(".messagelist").inner_text()
    assert "nothing open" in page.locator("#drift-findings").inner_text()
    page.screenshot(path=page.screenshots / "2-answered.png", full_page=True)

    found = {f.object: f for f in DriftFinding.objects.all()}
    acknowledged, pushed = found["FR-200|A/10"], found["BK-100|A/20"]
    assert acknowledged.status == DriftStatus.ACKNOWLEDGED
    assert (acknowledged.history.first().history_user.username,
            acknowledged.history.first().history_change_reason) == (
        "operator", "Berlin cuts 1300 mm tubes on purpose")
    assert pushed.status == DriftStatus.RE_PUSHED and pushed.re_push is not None
    # The re-push is delivered by the outbox as any message: the bike's BOM is whole again, the
    # frame keeps its acknowledged length, and the next check finds nothing new.
    drain(prefer_ids=[pushed.re_push_id], budget_seconds=30)
    assert OutboundMessage.objects.get(pk=pushed.re_push_id).status == "delivered"
    drift_check.drift_check_run(system=system, trigger=DriftTrigger.SCHEDULE)
    assert DriftFinding.objects.filter(status=DriftStatus.OPEN).count() == 0
    acknowledged.refresh_from_db()
    assert acknowledged.status == DriftStatus.ACKNOWLEDGED
    page.goto(f"{base}/admin/flows/monitor/drift/?status=all")
    assert "delivered" in page.locator("#drift-findings tr", has_text="BK-100|A/20").inner_text()
    page.screenshot(path=page.screenshots / "3-converged.png", full_page=True)
