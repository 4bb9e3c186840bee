"""The read-only rule-set API: who may read it, filters, rules in run order, pinned queries."""

from __future__ import annotations

import pytest

from thread.bom.rules import services
from thread.catalog import services as catalog

from .test_rule_support import *  # noqa: F403 (fixtures)
from .test_rule_support import EXCLUDE_DOCS, SUBSTITUTE_TUBE, draft_of, fill, published

SETS = "/api/v1/bom/mapping-rule-sets/"
VERSIONS = "/api/v1/bom/mapping-rule-set-versions/"


def test_rule_sets_show_the_current_and_the_open_version(rule_set, alice, erp):
    v1 = published(rule_set, alice, SUBSTITUTE_TUBE)
    draft = services.rule_set_draft_start(rule_set=rule_set, actor=alice, reason="next")
    body = erp.get(SETS, {"plant": "BER"}).json()
    [item] = body["results"]
    assert (item["plant"], item["current_version"], item["open_version"]) == (
        {"id": rule_set.plant_id, "code": "BER"},
        {"id": v1.pk, "number": 1, "status": "published"},
        {"id": draft.pk, "number": None, "status": "draft"})
    assert erp.get(SETS, {"plant": "CLT"}).json()["results"] == []


def test_versions_carry_rules_in_run_order_and_events(rule_set, alice, plm):
    later = SUBSTITUTE_TUBE.__class__(**{**SUBSTITUTE_TUBE.__dict__, "order": 50})
    v1 = published(rule_set, alice, later, EXCLUDE_DOCS)
    body = plm.get(VERSIONS, {"status": "published", "plant_id": rule_set.plant_id}).json()
    [item] = body["results"]
    assert (item["id"], item["number"], item["published_by"], item["reason"]) == (
        v1.pk, 1, "alice", "Go live")
    assert [(r["order"], r["name"], r["action"], r["params"]) for r in item["rules"]] == [
        (20, "No documents", "exclude", {}),
        (50, "Alternate tube", "substitute", {"part": "TB-310-ALT"})]
    assert [e["kind"] for e in item["events"]] == ["draft_started", "published"]
    assert plm.get(VERSIONS, {"status": "draft"}).json()["results"] == []


def test_mes_may_not_read_rule_sets(rule_set, mes):
    assert mes.get(SETS).status_code == 403
    assert mes.get(VERSIONS).status_code == 403


def test_no_system_may_write_rule_sets(rule_set, plm):
    assert plm.push(VERSIONS, {"rules": []}).status_code == 403


@pytest.mark.parametrize("plants", [1, 3])
def test_list_query_counts_are_pinned(units, alice, erp, plants, django_assert_num_queries):
    for code in ("BER", "CLT", "SHA")[:plants]:
        plant = catalog.plant_create(code=code, name=code, time_zone="Europe/Berlin", actor=None,
                                     reason="t")
        rule_set = services.rule_set_create(plant=plant, name=code, actor=alice, reason="t")
        draft = fill(draft_of(rule_set), alice, EXCLUDE_DOCS)
        services.rule_set_version_publish(version=draft, actor=alice, reason="go")
        services.rule_set_draft_start(rule_set=rule_set, actor=alice, reason="next")
    with django_assert_num_queries(3):
        assert len(erp.get(SETS).json()["results"]) == plants
    with django_assert_num_queries(4):
        assert len(erp.get(VERSIONS).json()["results"]) == 2 * plants
