"""The operator's scenario in a real headless Chromium: the sandbox ERP goes down, a rule change
is published, messages pile up on the flow monitor, the ERP comes back and they are delivered; a
forced 400 kills a message, which is replayed once the fault is off.

Real parts throughout: the live Django server (pytest-django's live_server) serves the admin,
the monitor, the sandbox page and the sandbox ERP itself; a real django-q2 cluster (a
subprocess on the test database, ORM broker) delivers through the REST connector. Nothing
between them is simulated: the rule change is a real publish, whose regeneration job (run by the
cluster) writes the messages (tests/browser/publish_support.py).

Needs Debian's chromium at /usr/bin/chromium (or $CHROMIUM) and the playwright package; never
`playwright install`. Without them the test skips with a loud reason, and with REQUIRE_BROWSER=1
(CI) it fails instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, connections

from bench.rig import Cluster, wait_for
from thread.catalog import services as catalog
from thread.core.roles import setup_roles
from thread.flows import services as flows
from thread.flows.choices import OutboundStatus
from thread.flows.models import OutboundMessage
from thread.history import audited
from thread.sandbox.choices import RequestOutcome
from thread.sandbox.models import SandboxRequest

from ..flows.outbox_support import worker_database_url
from ..queues import own_queue
from .conftest import PASSWORD, browser_tab, login
from .publish_support import publish_scrap_change, released_products

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

@pytest.fixture
def cluster(chromium, transactional_db, monkeypatch, tmp_path):
    """A real qcluster on the test database, on a queue of its own; this process (and the live
    server's threads, where the operator's actions run) enqueue their drain tasks there."""
    with own_queue(monkeypatch, "orm", prefix="thread-browser") as name:
        started = Cluster(name=name, database_url=worker_database_url(), log_dir=tmp_path,
                          workers=2, env={"THREAD_OUTBOX_LEASE_SECONDS": "15",
                                          "THREAD_OUTBOX_DRAIN_SECONDS": "5"})
        yield started
        started.kill()
    # The killed workers' sessions end a moment later; dropping the test database before then
    # fails.
    wait_for(lambda: not other_sessions(), timeout=20, what="the other database sessions to end")


def other_sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.fixture
def page(cluster, monkeypatch, tmp_path):
    """A tab on the live server, with the task cluster running."""
    with browser_tab(monkeypatch, tmp_path, width=1500, height=950) as tab:
        yield tab


@pytest.fixture
def demo(transactional_db, live_server, units):
    """The demo's shape in small: an ERP delivering to the sandbox ERP on the live server, a
    plant, parts, and an operator."""
    setup_roles()
    erp = flows.system_create(name="ERP", kind="erp", actor=None, reason="browser test")
    erp = flows.system_delivery_configure(
        system=erp, actor=None, reason="browser test: deliver to the sandbox",
        connector="rest", base_url=f"{live_server.url}/sandbox/erp/",
        connector_options={"paths": {"*": "{topic}"}}, connect_timeout_seconds=1,
        read_timeout_seconds=3, max_attempts=20, backoff_base_seconds=1, backoff_cap_seconds=2)
    plant = catalog.plant_create(code="BER", name="Berlin assembly", time_zone="Europe/Berlin",
                                 actor=None, reason="browser test")
    # Three bikes saw tube TB-1, one saws TB-2; their mBOMs exist before the plant has an ERP.
    released_products(plant=plant, tubes_by_product={
        "BK-100": "TB-1", "BK-200": "TB-1", "BK-300": "TB-1", "BK-400": "TB-2"})
    plant.erp_system = erp
    audited(plant, None, "browser test: the plant's ERP").save()
    users = get_user_model().objects
    operator = users.create_user("operator", password=PASSWORD, is_staff=True)
    operator.groups.add(Group.objects.get(name="operator"))
    analyst = users.create_user("analyst", password=PASSWORD, is_staff=True)
    analyst.groups.add(Group.objects.get(name="analyst"))
    return {"erp": erp, "plant": plant, "analyst": analyst, "url": live_server.url}


def reload_until(page, check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            page.screenshot(path=page.screenshots / "timeout.png", full_page=True)
            raise AssertionError(f"timed out after {timeout} s waiting for {what} "
                                 f"(screenshot in {page.screenshots})")
        time.sleep(0.5)
        page.reload()


def erp_cell(page, column: str) -> str:
    return page.locator(f'tr[data-system="ERP"] td[data-col="{column}"]').inner_text().strip()


def switch_erp(page, base: str, fault: str, topic: str = "") -> None:
    page.goto(f"{base}/sandbox/")
    form = page.locator("#switch-erp")
    form.locator("select[name=fault]").select_option(fault)
    form.locator("input[name=fault_topic]").fill(topic)
    form.locator("input[type=submit]").click()
    page.locator(".messagelist").wait_for()
    assert "Sandbox ERP is now" in page.locator(".messagelist").inner_text()


def test_operator_sees_a_peer_outage_and_recovers_it(page, demo):
    try:
        scenario(page, demo)
    finally:
        # With Playwright's sync API running, the test body's ORM calls get database
        # connections of their own (another context than the fixtures'): close them here, or
        # the test database cannot be dropped at the end of the run.
        connections.close_all()


def scenario(page, demo) -> None:
    base, plant, analyst = demo["url"], demo["plant"], demo["analyst"]
    login(page, base, "operator", "/admin/flows/monitor/")
    assert page.locator("h1").inner_text() == "Flow monitor"

    # The sandbox ERP goes down; a rule change is published: messages pile up.
    switch_erp(page, base, "down")
    assert "Down" in page.get_by_test_id("state-erp").inner_text()
    publish_scrap_change(plant=plant, tube="TB-1", percent="4", analyst=analyst)
    page.goto(f"{base}/admin/flows/monitor/")
    reload_until(page, lambda: erp_cell(page, "retrying") == "3", "3 messages retrying")
    assert (erp_cell(page, "waiting"), erp_cell(page, "delivered")) == ("3", "0")
    assert "100% of" in erp_cell(page, "error-rate")
    # The peer's signals: every attempt since the outage failed, and its last answer is shown.
    assert int(erp_cell(page, "consecutive").split()[0].rstrip("+")) >= 3
    assert "http-503" in erp_cell(page, "last-error")
    page.screenshot(path=page.screenshots / "1-pile-up.png", full_page=True)

    # The ERP comes back; the operator retries the waiting messages at once.
    switch_erp(page, base, "none")
    page.goto(f"{base}/admin/flows/monitor/")
    row = page.locator('tr[data-system="ERP"]')
    row.locator("input[name=reason]").fill("ERP is back after maintenance")
    row.locator("input[type=submit]").click()
    assert "Retry now: 3 waiting message(s) of ERP" in page.locator(".messagelist").inner_text()
    reload_until(page, lambda: erp_cell(page, "delivered") == "3", "3 messages delivered")
    assert erp_cell(page, "waiting") == "0"
    page.screenshot(path=page.screenshots / "2-delivered.png", full_page=True)

    # A forced 400 for the topic: the next message goes to the dead letter at once.
    switch_erp(page, base, "reject_400", topic="mbom.published")
    publish_scrap_change(plant=plant, tube="TB-2", percent="4", analyst=analyst)
    page.goto(f"{base}/admin/flows/monitor/")
    reload_until(page, lambda: erp_cell(page, "dead") == "1", "1 dead message")
    assert "ERP: 1 dead message needs action" in page.locator("#flow-alerts").inner_text()
    page.locator('tr[data-system="ERP"] td[data-col="dead"] a').click()
    page.locator("#message-list tbody tr a").first.click()
    assert "the peer refused the message with 400" in page.locator("#message-error").inner_text()
    assert "BER rules v3" in page.locator("#message-cause").inner_text()
    page.screenshot(path=page.screenshots / "3-dead.png", full_page=True)
    message_url = page.url

    # The fault is fixed on the peer's side; the operator replays the dead message.
    switch_erp(page, base, "none")
    page.goto(message_url)
    replay = page.locator("#action-replay")
    replay.locator("input[name=reason]").fill("ERP accepts mbom.published again")
    replay.locator("input[type=submit]").click()
    reload_until(page, lambda: page.locator("#message-status").inner_text() == "Delivered",
                 "the replayed message delivered")
    page.screenshot(path=page.screenshots / "4-replayed.png", full_page=True)
    page.goto(f"{base}/admin/")
    assert page.locator("#flow-alerts").count() == 0

    # What the peer saw: every message applied exactly once; the outage and the 400 visible.
    outcomes = list(SandboxRequest.objects.filter(peer="erp").values_list("outcome", flat=True))
    assert outcomes.count(RequestOutcome.APPLIED) == 4
    assert outcomes.count(RequestOutcome.FAILED) >= 4  # 3 while down, 1 refused with 400
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {OutboundStatus.DELIVERED}
    replayed = OutboundMessage.objects.get(ordering_key="mbom:BER:BK-400").events.get(kind="replayed")
    assert (replayed.actor.username, replayed.reason) == ("operator",
                                                          "ERP accepts mbom.published again")

