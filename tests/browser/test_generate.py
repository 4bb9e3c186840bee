"""The analyst's "generate now", clicked in a real headless Chromium: from a released product's
revision page to the form, the job it starts and its progress, and the page that says what a
release did at each plant. (Same browser set-up and skip rules as test_monitoring.py.)"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connections

from thread.bom.mbom import regeneration
from thread.bom.models import MBomVersion, RegenerationJob
from thread.catalog import services as catalog
from thread.catalog.models import PartRevision
from thread.core.roles import setup_roles

from ..bom.test_mbom_support import *  # noqa: F403 (fixtures)
from ..bom.test_mbom_support import categorise_screws, product_body, push
from .conftest import PASSWORD, login

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def released(live_server, rules):
    """BER makes new products; PR-1 was released (and generated) there; an analyst."""
    setup_roles()
    catalog.plant_update(plant=rules.rule_set.plant, makes_new_products=True, actor=None,
                         reason="browser test")
    push(product_body("PR-1", leaves=2))
    categorise_screws()  # the plant data changed: "generate now" has something to do
    analyst = get_user_model().objects.create_user("analyst", password=PASSWORD, is_staff=True)
    analyst.groups.add(Group.objects.get(name="analyst"))
    return {"url": live_server.url, "revision": PartRevision.objects.get(part__number="PR-1")}


def test_an_analyst_generates_a_products_mbom_now_from_its_revision_page(page, released):
    try:
        scenario(page, released)
    finally:
        # The body's ORM calls under Playwright's loop have connections of their own: close
        # them, or the test database cannot be dropped (see test_monitoring.py).
        connections.close_all()


def scenario(page, released) -> None:
    base, revision = released["url"], released["revision"]
    login(page, base, "analyst", f"/admin/catalog/partrevision/{revision.pk}/change/")
    page.get_by_role("link", name="Generate mBOM now", exact=True).click()
    assert page.locator("#id_part").input_value() == "PR-1"
    assert page.locator("#id_revision").input_value() == "A"
    page.screenshot(path=page.screenshots / "1-generate-form.png", full_page=True)

    # Without a reason the browser refuses to send the form, at the field, and nothing starts.
    page.click("#generate-form input[type=submit]")
    assert page.locator("#id_reason").evaluate("field => field.validationMessage")
    assert not RegenerationJob.objects.filter(kind="on_demand").exists()

    page.fill("#id_reason", "Screws are fasteners now")
    page.click("#generate-form input[type=submit]")
    assert "1 job(s) started" in page.locator(".messagelist").inner_text()
    job = RegenerationJob.objects.get(kind="on_demand")
    assert page.locator("#result_list").inner_text().count("Generated on demand") == 1
    page.screenshot(path=page.screenshots / "2-job-queued.png", full_page=True)

    before = MBomVersion.objects.filter(mbom__revision=revision).count()
    regeneration.regeneration_run(job_id=job.pk)  # what the task cluster does
    page.goto(f"{base}/admin/bom/regenerationjob/{job.pk}/change/")
    body = page.locator("#content").inner_text()
    assert "Done" in body and "PR-1 rev A" in body and "Screws are fasteners now" in body
    assert MBomVersion.objects.filter(mbom__revision=revision).count() == before + 1

    # What the release did at each plant, linked from the mBOM list.
    page.goto(f"{base}/admin/bom/mbom/")
    page.get_by_role("link", name="After releases", exact=True).click()
    rows = page.locator("#result_list").inner_text()
    assert "PR-1 rev A" in rows and "Generated: a new mBOM version" in rows
    page.screenshot(path=page.screenshots / "3-after-releases.png", full_page=True)
