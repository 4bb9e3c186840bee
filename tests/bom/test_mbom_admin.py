"""The analyst's and auditor's mBOM pages: a version with expandable lineage, the preview of a
draft rule set, the version diff, the accountability page, the publish warning and the
regeneration progress. Query counts are pinned."""

from __future__ import annotations

from dataclasses import replace

import pytest

from thread.bom.mbom import generation, regeneration
from thread.bom.models import MappingRuleSetVersion, MBom, MBomVersion, RegenerationJob
from thread.catalog.models import PartRevision

from .test_mbom_support import *  # noqa: F403 (fixtures)
from .test_mbom_support import (
    BOX,
    categorise_screws,
    draft_from,
    new_version,
    product_body,
    push,
    revision,
    row_counts,
)
from .test_rule_support import login, make_user

ADMIN = "/admin/bom/"


@pytest.fixture
def analyst(roles):
    return login(make_user("alice", "analyst"))


@pytest.fixture
def auditor(roles):
    return login(make_user("audrey", "auditor"))


@pytest.fixture
def generated(rules):
    push(product_body("PR-1", 3))
    categorise_screws()
    generation.mbom_generate(revision=revision("PR-1"), plant=rules.rule_set.plant, cause=rules,
                             actor=None, reason="test")
    return rules


def test_an_auditor_opens_a_version_and_sees_why_each_line_exists(generated, auditor,
                                                                  django_assert_num_queries):
    version = MBomVersion.objects.get(mbom__revision__part__number="PR-1")
    # the page's own ten and the flow-alert banner's two (the systems, their recent attempts)
    with django_assert_num_queries(12):
        response = auditor.get(f"{ADMIN}mbomversion/{version.pk}/change/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "PR-1 A (eBOM #1) pos 10: 2 pcs SC-0" in page
    assert "Screws at assembly" in page and "Shipping box" in page
    assert "excluded</strong> by rule “No documents”" in page


# each list's own eight and the flow-alert banner's two (the systems, their recent attempts)
@pytest.mark.parametrize("route,queries", [("mbom/", 10), ("mbomversion/", 10),
                                           ("regenerationjob/", 10)])
def test_lists_of_mboms_versions_and_jobs(generated, auditor, route, queries,
                                          django_assert_num_queries):
    with django_assert_num_queries(queries):
        assert auditor.get(ADMIN + route).status_code == 200


@pytest.fixture
def welded(generated):
    """A draft that welds screw SC-0 instead of assembling it: one line changes."""
    return draft_from(generated, replace(BOX, order=60, name="Screw 0 welded",
                                         action="assign_operation",
                                         condition={"field": "part", "op": "eq",
                                                    "value": "SC-0"},
                                         params={"operation": "WELD"}))


def test_preview_of_a_draft_shows_the_change_with_lineage_and_writes_nothing(generated, welded,
                                                                             analyst):
    draft = welded
    plant = generated.rule_set.plant
    before = row_counts()
    response = analyst.get(f"{ADMIN}mbom/preview/", {
        "part": "PR-1", "plant": plant.pk, "rule_set_version": draft.pk})
    assert row_counts() == before
    page = response.content.decode()
    assert response.status_code == 200
    assert "0 added, 0 removed, 1 changed" in page
    assert "was ASSY" in page and "Screw 0 welded" in page
    assert "every eBOM line is accounted for" in page


def test_the_plant_preview_of_a_draft_sums_up_every_product(generated, welded, analyst):
    draft = welded
    plant = generated.rule_set.plant
    before = row_counts()
    page = " ".join(analyst.get(f"{ADMIN}mbom/preview/", {
        "plant": plant.pk, "rule_set_version": draft.pk}).content.decode().split())
    assert row_counts() == before
    assert "<strong>1</strong> of 1 product(s) change" in page
    assert "<strong>1</strong> changed; 0 warning(s)" in page
    assert 'data-product="PR-1"' in page
    # the mBOM page's Preview link needs no version: the rules in force
    mbom = MBom.objects.get(revision__part__number="PR-1")
    link = analyst.get(f"{ADMIN}mbom/preview/", {"part": "PR-1", "revision": "A",
                                                  "plant": mbom.plant_id}).content.decode()
    assert "This field is required" not in link and 'id="preview-summary"' in link


def test_version_diff_page(generated, auditor):
    v2 = new_version(generated, replace(BOX, order=50, name="Foam",
                                        params={"part": "PK-1", "quantity": "2", "unit": "pcs"}))
    generation.mbom_generate(revision=revision("PR-1"), plant=generated.rule_set.plant, cause=v2,
                             actor=None, reason="test")
    old, new = MBomVersion.objects.filter(mbom__revision__part__number="PR-1").order_by("number")
    page = auditor.get(f"{ADMIN}mbomversion/{new.pk}/diff/?against={old.pk}").content.decode()
    assert "1 added, 0 removed, 0 changed" in page and "Foam" in page
    assert auditor.get(f"{ADMIN}mbomversion/{new.pk}/diff/").status_code == 404


def test_accountability_page(generated, auditor):
    mbom = MBom.objects.get(revision__part__number="PR-1")
    page = auditor.get(f"{ADMIN}mbom/{mbom.pk}/accountability/").content.decode()
    assert "every eBOM line is accounted for" in page


def test_a_publish_that_would_leave_lines_unaccounted_asks_for_confirmation(rules, analyst):
    push(product_body("PR-1", 1))
    categorise_screws()
    # The frame is back in draft: its lines would reach no stored mBOM.
    PartRevision.objects.filter(part__number="PR-1-FR").update(status="draft", released_at=None)
    draft = draft_from(rules)
    url = f"{ADMIN}mappingrulesetversion/{draft.pk}/workflow/publish/"
    page = analyst.post(url, {"reason": "Try"}).content.decode()
    assert "Publish anyway" in page and "PR-1-FR rev A is a draft" in page
    draft.refresh_from_db()
    assert draft.status == "draft"
    response = analyst.post(url, {"reason": "Known: frame in review", "confirmed": "1"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == "published"


def test_the_version_page_shows_the_regeneration_progress(rules, analyst, monkeypatch):
    monkeypatch.setattr(regeneration, "enqueue", lambda job_id: None)
    push(product_body("PR-1", 1))
    categorise_screws()
    job = RegenerationJob.objects.get(rule_set_version=rules)
    regeneration.regeneration_run(job_id=job.pk)
    page = analyst.get(f"{ADMIN}mappingrulesetversion/{rules.pk}/change/").content.decode()
    assert "mBOM regeneration" in page and "1 / 1 products, 2 new mBOM version(s)" in page
    assert MappingRuleSetVersion.objects.get(pk=rules.pk).status == "published"
