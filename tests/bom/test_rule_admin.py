"""The analyst's workplace in the admin: editing a draft with its rules, the workflow buttons,
read-only published versions, two analysts on one draft, and pinned query counts."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone

from thread.bom.choices import RuleSetEventKind
from thread.bom.models import MappingRule, MappingRuleSetEvent, MappingRuleSetVersion
from thread.bom.rules import services
from thread.catalog import services as catalog

from .test_rule_support import *  # noqa: F403 (fixtures)
from .test_rule_support import (
    EXCLUDE_DOCS,
    SUBSTITUTE_TUBE,
    draft_of,
    fill,
    form_data,
    login,
    published,
)


def page(version) -> str:
    return f"/admin/bom/mappingrulesetversion/{version.pk}/change/"


def rule_row(data: dict, index: int, **fields) -> dict:
    """Set the inline row `index` of the rules formset (JSON fields given as Python)."""
    for name, value in fields.items():
        data[f"rules-{index}-{name}"] = json.dumps(value) if name in ("condition", "params") \
            else value
    return data


def inline_errors(response, index: int) -> dict:
    formset = next(f.formset for f in response.context["inline_admin_formsets"]
                   if f.formset.prefix == "rules")
    return formset.forms[index].errors


def test_an_analyst_edits_the_draft_and_its_rules_through_the_service(rule_set, alice):
    client = login(alice)
    draft = draft_of(rule_set)
    data = form_data(client.get(page(draft)))
    assert data["lock_version"] == "0"
    rule_row(data, 0, order="10", name="Alternate tube", action="substitute",
             condition=SUBSTITUTE_TUBE.condition, params={"part": "TB-310-ALT"})
    data.update(notes="Alternate tube for Berlin", reason="Supplier change")
    response = client.post(page(draft), data)
    assert response.status_code == 302, response.context and response.context["errors"]
    draft.refresh_from_db()
    assert (draft.lock_version, draft.notes, draft.updated_by) == (1, "Alternate tube for Berlin",
                                                                   alice)
    rule = draft.rules.get()
    assert (rule.params, rule.history.get().history_change_reason) == (
        {"part": "TB-310-ALT"}, "Supplier change")


def test_the_engine_s_message_shows_on_the_field_at_fault(rule_set, alice):
    client = login(alice)
    draft = draft_of(rule_set)
    data = form_data(client.get(page(draft)))
    rule_row(data, 0, order="10", name="Alternate tube", action="substitute",
             condition=SUBSTITUTE_TUBE.condition, params={"part": "NOPE-9"})
    data["reason"] = "try"
    response = client.post(page(draft), data)
    assert response.status_code == 200
    assert inline_errors(response, 0) == {
        "params": ["substitute part 'NOPE-9' does not exist (at part)"]}
    rule_row(data, 0, action="scrap", params={"scrap_percent": "3"},
             condition={"field": "part", "op": "like", "value": "TB-*"})
    errors = inline_errors(client.post(page(draft), data), 0)
    assert list(errors) == ["condition"]
    assert "like" in errors["condition"][0]
    assert draft.rules.count() == 0


def test_the_second_of_two_analysts_editing_one_draft_is_refused(rule_set, alice, bob):
    draft = draft_of(rule_set)
    first, second = login(alice), login(bob)
    data_a = form_data(first.get(page(draft)))
    data_b = form_data(second.get(page(draft)))
    rule_row(data_a, 0, order="10", name="Alice's rule", action="exclude",
             condition=EXCLUDE_DOCS.condition, params={})
    rule_row(data_b, 0, order="10", name="Bob's rule", action="flatten",
             condition={"field": "category", "op": "eq", "value": "kit"}, params={})
    data_a["reason"] = data_b["reason"] = "edit"
    assert first.post(page(draft), data_a).status_code == 302
    draft.refresh_from_db()
    response = second.post(page(draft), data_b)
    assert response.status_code == 200
    when = timezone.localtime(draft.updated_at).strftime("%H:%M")
    assert (f"alice saved this draft at {when} after you opened it; reload and re-apply your "
            "change.") in response.content.decode()
    assert list(draft.rules.values_list("name", flat=True)) == ["Alice's rule"]


def test_publish_button_needs_a_reason_and_publishes(rule_set, alice):
    client = login(alice)
    draft = fill(draft_of(rule_set), alice, SUBSTITUTE_TUBE)
    url = f"/admin/bom/mappingrulesetversion/{draft.pk}/workflow/publish/"
    response = client.post(url, {"reason": ""}, follow=True)
    assert "A reason is required" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == "draft"
    response = client.post(url, {"reason": "Go live"}, follow=True)
    assert "Published as version 1." in response.content.decode()
    draft.refresh_from_db()
    assert (draft.status, draft.number, draft.reason) == ("published", 1, "Go live")


def test_validate_lists_every_problem(rule_set, alice):
    client = login(alice)
    draft = fill(draft_of(rule_set), alice, SUBSTITUTE_TUBE)
    catalog.part_update(part=catalog.Part.objects.get(number="TB-310-ALT"), actor=alice,
                        reason="gone", lifecycle_state="obsolete")
    response = client.post(f"/admin/bom/mappingrulesetversion/{draft.pk}/validate/", follow=True)
    text = response.content.decode()
    assert "1 problem(s): this version cannot be published as it is." in text
    assert "substitute part &#x27;TB-310-ALT&#x27; does not exist" in text


def test_a_published_version_is_read_only_in_the_admin(rule_set, alice):
    v1 = published(rule_set, alice, SUBSTITUTE_TUBE)
    client = login(alice)
    response = client.get(page(v1))
    assert response.status_code == 200
    assert 'name="rules-0-name"' not in response.content.decode()
    assert "New draft from this version" in response.content.decode()
    refused = client.post(page(v1), {"notes": "x", "lock_version": "0", "reason": "sneaky",
                                     "rules-TOTAL_FORMS": "1", "rules-INITIAL_FORMS": "1",
                                     "rules-0-id": str(v1.rules.get().pk),
                                     "rules-0-name": "changed"})
    assert refused.status_code == 403
    assert v1.rules.get().name == "Alternate tube"


def test_four_eyes_in_the_admin(rule_set, alice, carol):
    services.rule_set_update(rule_set=rule_set, actor=alice, reason="4e", requires_approval=True)
    draft = fill(draft_of(rule_set), alice, SUBSTITUTE_TUBE)
    mine, theirs = login(alice), login(carol)
    base = f"/admin/bom/mappingrulesetversion/{draft.pk}/workflow/"
    assert "Publish</" not in mine.get(page(draft)).content.decode().replace("\n", "").replace(
        " ", "")
    mine.post(base + "request-approval/", {"reason": "Please check"})
    response = mine.post(base + "approve/", {"reason": "self"}, follow=True)
    assert "a second person must approve it (four-eyes)" in response.content.decode()
    response = theirs.post(base + "approve/", {"reason": "Checked"}, follow=True)
    assert "Approved and published as version 1." in response.content.decode()
    draft.refresh_from_db()
    assert (draft.status, draft.approved_by) == ("published", carol)


def test_roll_back_and_new_draft_buttons(rule_set, alice):
    v1 = published(rule_set, alice, SUBSTITUTE_TUBE)
    client = login(alice)
    response = client.post(f"/admin/bom/mappingruleset/{rule_set.pk}/new-draft/",
                           {"reason": "Next change"})
    draft = draft_of(rule_set)
    assert response.url == page(draft)
    fill(draft, alice, EXCLUDE_DOCS)
    services.rule_set_version_publish(version=draft, actor=alice, reason="v2")
    response = client.post(f"/admin/bom/mappingrulesetversion/{v1.pk}/workflow/rollback/",
                           {"reason": "v2 broke the ERP"})
    v3 = MappingRuleSetVersion.objects.get(number=3)
    assert response.url == page(v3)
    assert list(v3.rules.values_list("name", flat=True)) == ["Alternate tube"]


def test_an_auditor_sees_but_cannot_act(rule_set, alice, person):
    auditor = person("auditor").user
    draft = fill(draft_of(rule_set), alice, SUBSTITUTE_TUBE)
    client = login(auditor)
    text = client.get(page(draft)).content.decode()
    assert 'name="rules-0-name"' not in text and "Request approval" not in text
    assert client.post(f"/admin/bom/mappingrulesetversion/{draft.pk}/workflow/publish/",
                       {"reason": "x"}).status_code == 403


def _rules(version, count):
    version.refresh_from_db()
    services.rule_set_draft_edit(
        version=version, lock_version=version.lock_version, actor=None, reason="bulk",
        add=[services.RuleInput(order=i, name=f"rule {i}", action="assign_operation",
                                condition={"field": "part", "op": "eq", "value": f"P-{i}"},
                                params={"operation": "OP"}) for i in range(count)])


@pytest.mark.parametrize("count", [1, 25])
def test_draft_page_query_count_is_pinned(rule_set, alice, count, django_assert_num_queries):
    draft = draft_of(rule_set)
    _rules(draft, count)
    client = login(alice)
    # +2 since the page shows the diff against the published version (each one's rules)
    with django_assert_num_queries(11):
        response = client.get(page(draft))
    assert response.status_code == 200
    assert f"rule {count - 1}" in response.content.decode()


@pytest.mark.parametrize("count", [1, 25])
def test_draft_save_query_count_is_pinned(rule_set, alice, count, django_assert_num_queries):
    draft = draft_of(rule_set)
    _rules(draft, count)
    client = login(alice)
    data = form_data(client.get(page(draft)))
    rule_row(data, count, order="999", name="new one", action="exclude",
             condition=EXCLUDE_DOCS.condition, params={})
    data["reason"] = "add one"
    with django_assert_num_queries(23):
        assert client.post(page(draft), data).status_code == 302
    assert MappingRule.objects.filter(version=draft).count() == count + 1


@pytest.mark.parametrize("plants", [1, 2])
def test_changelist_query_counts_are_pinned(units, alice, plants, django_assert_num_queries):
    for code in ("BER", "CLT")[:plants]:
        plant = catalog.plant_create(code=code, name=code, time_zone="Europe/Berlin", actor=None,
                                     reason="t")
        rule_set = services.rule_set_create(plant=plant, name=f"{code} rules", actor=alice,
                                            reason="t")
        _rules(draft_of(rule_set), 2)
    client = login(alice)
    with django_assert_num_queries(8):
        assert client.get("/admin/bom/mappingruleset/").status_code == 200
    with django_assert_num_queries(9):
        assert client.get("/admin/bom/mappingrulesetversion/").status_code == 200


def test_a_version_page_costs_the_same_for_many_events(rule_set, alice,
                                                       django_assert_num_queries):
    draft = draft_of(rule_set)
    client = login(alice)

    def note(n):
        MappingRuleSetEvent.objects.bulk_create(
            MappingRuleSetEvent(version=draft, kind=RuleSetEventKind.DRAFT_STARTED,
                                actor=alice, at=timezone.now(), reason=f"Note {i}")
            for i in range(n))

    note(1)
    client.get(page(draft))  # warm the session and the content types
    with django_assert_num_queries(11):
        client.get(page(draft))
    note(4)
    with django_assert_num_queries(11):
        response = client.get(page(draft))
    assert all(f"Note {i}" in response.content.decode() for i in range(4))
