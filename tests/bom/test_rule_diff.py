"""The rule-set diff: pure over plain rules, then on the version page, the compare page and the
API."""

from __future__ import annotations

from thread.bom.engine import Rule
from thread.bom.rules import services as rules_services
from thread.bom.rules.diff import rule_set_diff
from thread.bom.rules.services import RuleInput

from .test_mbom_support import *  # noqa: F403 (fixtures)


def rule(id, order, name, action="exclude", condition=None, params=None, enabled=True):
    return Rule(id=id, order=order, name=name, action=action,
                condition=condition or {"field": "part", "op": "eq", "value": name},
                params=params or {}, enabled=enabled)


def test_added_removed_moved_changed_and_renamed():
    old = [rule(1, 10, "A"), rule(2, 20, "B"), rule(3, 30, "C", params={"x": "1"}),
           rule(4, 40, "D"), rule(5, 50, "E")]
    new = [rule(11, 10, "B"), rule(12, 20, "A"),  # A and B swapped: one of them moved
           rule(13, 30, "C", params={"x": "5"}),  # params changed
           rule(14, 40, "E2", condition={"field": "part", "op": "eq", "value": "E"}),  # renamed
           rule(15, 50, "F")]  # added; D removed
    diff = rule_set_diff(old, new)
    kinds = {change.name: change.kind for change in diff.changes}
    assert kinds == {"B": "unchanged", "A": "moved", "C": "changed", "E2": "changed", "F": "added",
                     "D": "removed"} or kinds == {"B": "moved", "A": "unchanged", "C": "changed",
                                                  "E2": "changed", "F": "added", "D": "removed"}
    c = next(change for change in diff.changes if change.name == "C")
    assert [(f.field, f.old, f.new) for f in c.fields] == [("params", {"x": "1"}, {"x": "5"})]
    assert [f.field for f in next(ch for ch in diff.changes if ch.name == "E2").fields] == ["name"]
    assert diff.summary == {"added": 1, "removed": 1, "moved": 1, "changed": 2}
    assert rule_set_diff(old, old).unchanged


def test_the_version_page_compare_page_and_api_show_the_diff(rules, client, person):
    draft = rules_services.rule_set_draft_start(rule_set=rules.rule_set, actor=None,
                                                reason="Next change")
    scrap = RuleInput(order=50, name="Scrap on tubes", action="scrap",
                      condition={"field": "part", "op": "glob", "value": "TB-*"},
                      params={"scrap_percent": "5"})
    rules_services.rule_set_draft_edit(version=draft, lock_version=draft.lock_version, actor=None,
                                       reason="add scrap", add=[scrap])
    analyst = person("analyst")
    page = " ".join(analyst.get(
        f"/admin/bom/mappingrulesetversion/{draft.pk}/change/").content.decode().split())
    assert "1 added, 0 removed, 0 moved, 0 changed" in page
    assert 'data-rule="Scrap on tubes"' in page and 'id="preview-link"' in page
    # each action explains itself where it is chosen
    assert '<option value="scrap" title="Plan for losses' in page
    compare = " ".join(analyst.get(f"/admin/bom/mappingrulesetversion/{rules.pk}/compare/",
                                   {"against": draft.pk}).content.decode().split())
    assert "0 added, 1 removed" in compare
    api = analyst.get(f"/api/v1/bom/mapping-rule-set-versions/{draft.pk}/diff/").json()
    assert api["against"]["id"] == rules.pk
    assert api["summary"] == {"added": 1, "removed": 0, "moved": 0, "changed": 0}
    assert [(c["kind"], c["name"]) for c in api["changes"] if c["kind"] != "unchanged"] == [
        ("added", "Scrap on tubes")]
    assert analyst.get(f"/api/v1/bom/mapping-rule-set-versions/{draft.pk}/diff/",
                       {"against": "x"}).status_code == 400
