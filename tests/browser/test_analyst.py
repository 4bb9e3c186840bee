"""The analyst's day in a real headless Chromium at 1,366 px: start a draft, change a rule's
params and save it (the reason typed where the page asks), read the plant preview's summary and
one product's diff, compare with the published rules, request approval; a second analyst
approves after seeing the diff; the new mBOM versions and their message appear; then the auditor
reads who changed what and why. A bad params value shows its error at the field. Screenshots of
each step are written to the test's tmp directory (not committed)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connections

from thread.bom.mbom import regeneration
from thread.bom.models import MappingRule, MappingRuleSetVersion, MBomVersion, RegenerationJob
from thread.core.roles import setup_roles
from thread.flows.models import OutboundMessage

from ..bom.test_mbom_support import *  # noqa: F403 (fixtures)
from ..bom.test_mbom_support import categorise_screws, product_body, push, rules_services
from .conftest import PASSWORD, login

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTH = 1366


@pytest.fixture
def office(live_server, rules):
    """BER's published rules (four-eyes on), a released product with its mBOMs, and people."""
    setup_roles()
    rules_services.rule_set_update(rule_set=rules.rule_set, actor=None, reason="four-eyes",
                                   requires_approval=True)
    push(product_body("PR-1", leaves=2))
    categorise_screws()
    from thread.bom.mbom.generation import mbom_generate

    mbom_generate(revision=PartRevision.objects.get(part__number="PR-1"),  # noqa: F405
                  plant=rules.rule_set.plant, cause=rules, actor=None, reason="initial mBOMs")
    users = get_user_model().objects
    for name, role in (("analyst", "analyst"), ("analyst2", "analyst"), ("auditor", "auditor")):
        users.create_user(name, password=PASSWORD, is_staff=True).groups.add(
            Group.objects.get(name=role))
    return {"url": live_server.url, "rule_set": rules.rule_set}


def shot(page, name: str) -> None:
    page.screenshot(path=page.screenshots / f"{name}.png", full_page=True)


def test_the_analysts_day_from_draft_to_published_and_the_auditors_view(page, office):
    try:
        analysts_day(page, office)
    finally:
        connections.close_all()  # the body's own connections (see test_monitoring.py)


def analysts_day(page, office) -> None:
    base, rule_set = office["url"], office["rule_set"]

    # 1. The analyst starts a draft from the rule set's page.
    login(page, base, "analyst", f"/admin/bom/mappingruleset/{rule_set.pk}/change/")
    page.fill("#draft-reason", "Tube scrap agreed with production")
    page.get_by_role("button", name="New draft from the current version").click()
    assert "New draft started" in page.locator(".messagelist").inner_text()
    draft = MappingRuleSetVersion.objects.get(rule_set=rule_set, status="draft")
    shot(page, "1-draft")

    # 2. The rules table is readable at 1,366 px: the params boxes are on screen.
    table = page.locator("#rules-group table").bounding_box()
    assert table["x"] + table["width"] <= WIDTH, table
    params = page.locator("textarea[name$='-params']").first.bounding_box()
    assert params["x"] + params["width"] <= WIDTH, params

    # 3. A bad params value: the error shows at the field, nothing saved.
    tubes = MappingRule.objects.get(version=draft, name="Tubes in m")
    row = page.locator(f"tr:has(input[value='{tubes.pk}'])")
    row.locator("textarea[name$='-params']").fill('{"unit": "furlong"}')
    page.fill("#id_reason", "Try a unit")
    page.get_by_role("button", name="Save and continue editing").click()
    assert "Please correct the error" in page.locator(".errornote").inner_text()
    row = page.locator(f"tr:has(input[value='{tubes.pk}'])")
    assert "furlong" in page.locator("#rules-group .errorlist").first.inner_text()
    shot(page, "2-field-error")
    assert MappingRule.objects.get(pk=tubes.pk).params["unit"] == "m"

    # 4. The real change, saved with the reason typed next to the save button.
    row.locator("textarea[name$='-params']").fill(
        '{"unit": "m", "round_up_to_multiple": "0.1"}')
    page.fill("#id_reason", "Cut tubes in 10 cm steps")
    page.get_by_role("button", name="Save and continue editing").click()
    assert "was changed successfully" in page.locator(".messagelist").inner_text()
    assert MappingRule.objects.get(pk=tubes.pk).params["round_up_to_multiple"] == "0.1"
    diff = page.locator("#rule-set-diff").inner_text()
    assert "0 added, 0 removed, 0 moved, 1 changed" in " ".join(diff.split())
    shot(page, "3-saved-with-diff")

    # 5. The preview of the plant's products, summed up; then one product's diff.
    page.locator("#preview-link").click()
    summary = " ".join(page.locator("#preview-summary").inner_text().split())
    assert "1 of 1 product(s) change" in summary
    shot(page, "4-plant-preview")
    page.locator("#preview-products a").first.click()
    content = page.locator("#content-main").inner_text()
    assert "PR-1-FR rev A (released) — 0 added, 0 removed, 1 changed." in content
    assert "1.3 was 1.25" in " ".join(content.split())  # the tube, in 10 cm steps now
    assert "Current mBOM: v1" in content
    shot(page, "5-product-preview")

    # 6. Compare with the published version, then request approval.
    page.goto(f"{base}/admin/bom/mappingrulesetversion/{draft.pk}/compare/")
    assert "round_up_to_multiple" in page.locator("#rule-set-diff").inner_text()
    page.goto(f"{base}/admin/bom/mappingrulesetversion/{draft.pk}/change/")
    page.fill("#workflow-reason", "Please check the tube steps")
    page.get_by_role("button", name="Request approval").click()
    assert "pending" in page.locator("#version-workflow h2").inner_text().lower()

    # 7. A second analyst sees the diff before the Approve button, and approves.
    login(page, base, "analyst2", f"/admin/bom/mappingrulesetversion/{draft.pk}/change/")
    workflow = page.locator("#version-workflow")
    assert "1 changed" in " ".join(workflow.inner_text().split())
    shot(page, "6-approver-sees-diff")
    page.fill("#workflow-reason", "Checked against the cutting plan")
    page.get_by_role("button", name="Approve and publish").click()
    if page.locator("input[name=confirmed]").count():  # the publish's own confirmation page
        page.locator("form:has(input[name=confirmed]) [type=submit]").click()
    assert MappingRuleSetVersion.objects.get(pk=draft.pk).status == "published"

    # 8. The regeneration job (what the task cluster runs) writes the new mBOM versions and
    # their message; the flow monitor shows it.
    job = RegenerationJob.objects.filter(rule_set_version=draft).get()
    regeneration.regeneration_run(job_id=job.pk)
    assert MBomVersion.objects.filter(mbom__revision__part__number="PR-1").count() == 2
    assert OutboundMessage.objects.filter(topic="mbom.published").count() >= 1
    page.goto(f"{base}/admin/flows/monitor/")
    assert page.locator("h1").inner_text() == "Flow monitor"
    shot(page, "7-monitor")

    # 9. The auditor reads the rule's history and the version's events: who, what, why.
    login(page, base, "auditor", f"/admin/bom/mappingrule/{tubes.pk}/history/")
    history = page.locator("#content").inner_text()
    assert "analyst" in history and "Cut tubes in 10 cm steps" in history
    assert "Deleted user" not in history
    page.goto(f"{base}/admin/bom/mappingrulesetversion/{draft.pk}/change/")
    events = page.locator("#events-group").inner_text()
    assert "analyst2" in events and "Checked against the cutting plan" in events
    shot(page, "8-auditor")
