"""Rule-set versions through the services: publish, immutability, roll back, four-eyes,
optimistic locking, per-action validation, the publish check, history and events."""

from __future__ import annotations

import pytest
from django.utils import timezone

from thread.bom.mbom import selectors
from thread.bom.models import MappingRule, MappingRuleSetEvent, MappingRuleSetVersion
from thread.bom.rules import services
from thread.bom.rules.services import RuleInput
from thread.catalog import services as catalog
from thread.catalog.models import Part
from thread.errors import InvalidInput, StateConflict

from .test_rule_support import *  # noqa: F403 (fixtures)
from .test_rule_support import (
    EXCLUDE_DOCS,
    SUBSTITUTE_TUBE,
    TUBES_IN_M,
    draft_of,
    fill,
    published,
)


def rule_names(version) -> list[str]:
    return list(version.rules.order_by("order").values_list("name", flat=True))


def events(version) -> list[tuple]:
    return list(version.events.order_by("id").values_list("kind", "actor__username", "reason"))


def test_publish_makes_a_numbered_version_and_supersedes_the_previous(rule_set, alice):
    v1 = published(rule_set, alice, SUBSTITUTE_TUBE)
    assert (v1.number, v1.status, v1.published_by, v1.reason) == (1, "published", alice, "Go live")
    assert v1.published_at is not None and v1.approved_by is None

    draft = services.rule_set_draft_start(rule_set=rule_set, actor=alice, reason="Next change")
    assert (draft.based_on, draft.number, rule_names(draft)) == (v1, None, ["Alternate tube"])
    fill(draft, alice, EXCLUDE_DOCS)
    v2 = services.rule_set_version_publish(version=draft, actor=alice, reason="Drop documents")

    v1.refresh_from_db()
    assert (v1.status, v2.number, v2.status) == ("superseded", 2, "published")
    assert rule_names(v1) == ["Alternate tube"]
    assert rule_names(v2) == ["Alternate tube", "No documents"]
    assert selectors.current_rule_set_version(plant=rule_set.plant) == v2
    assert events(v2)[-1] == ("published", "alice", "Drop documents")
    assert v2.events.get(kind="published").details == {"number": 2, "superseded": 1}


def test_a_published_version_never_changes(rule_set, alice):
    v1 = published(rule_set, alice, SUBSTITUTE_TUBE)
    rule = v1.rules.get()
    for attempt in (
        lambda: services.rule_set_draft_edit(version=v1, lock_version=v1.lock_version,
                                             actor=alice, reason="sneaky", add=[EXCLUDE_DOCS]),
        lambda: services.rule_set_draft_edit(version=v1, lock_version=v1.lock_version,
                                             actor=alice, reason="sneaky", delete=[rule.pk]),
        lambda: services.rule_set_version_publish(version=v1, actor=alice, reason="again"),
    ):
        with pytest.raises(StateConflict):
            attempt()
    with pytest.raises(StateConflict, match="its rules never change"):
        services.rule_set_draft_edit(version=v1, lock_version=v1.lock_version, actor=alice,
                                     reason="x", change={rule.pk: EXCLUDE_DOCS})
    rule.refresh_from_db()
    assert (rule.name, v1.rules.count(), rule.history.count()) == ("Alternate tube", 1, 1)


def test_roll_back_publishes_the_old_rules_as_a_new_version(rule_set, alice):
    v1 = published(rule_set, alice, SUBSTITUTE_TUBE)
    services.rule_set_draft_start(rule_set=rule_set, actor=alice, reason="change")
    draft = draft_of(rule_set)
    services.rule_set_draft_edit(version=draft, lock_version=draft.lock_version, actor=alice,
                                 reason="swap", delete=[draft.rules.get().pk], add=[TUBES_IN_M])
    v2 = services.rule_set_version_publish(version=draft, actor=alice, reason="Metres")

    v3 = services.rule_set_version_rollback(version=MappingRuleSetVersion.objects.get(pk=v1.pk),
                                            actor=alice, reason="Metres broke the ERP import")
    v2.refresh_from_db()
    assert (v3.number, v3.status, v3.based_on_id, v2.status) == (3, "published", v1.pk,
                                                                  "superseded")
    assert rule_names(v3) == ["Alternate tube"]
    assert v3.rules.get().params == {"part": "TB-310-ALT"}
    assert events(v3)[-2:] == [("published", "alice", "Metres broke the ERP import"),
                               ("rolled_back", "alice", "Metres broke the ERP import")]
    assert v3.events.get(kind="rolled_back").details == {"rules_of_version": 1}
    with pytest.raises(StateConflict, match="only a superseded version can be rolled back"):
        services.rule_set_version_rollback(version=v3, actor=alice, reason="again")


def test_four_eyes_the_author_cannot_approve_another_person_can(rule_set, alice, bob, carol):
    services.rule_set_update(rule_set=rule_set, actor=alice, reason="Four-eyes from now on",
                             requires_approval=True)
    draft = fill(draft_of(rule_set), alice, SUBSTITUTE_TUBE)
    with pytest.raises(StateConflict, match="requires a second person's approval"):
        services.rule_set_version_publish(version=draft, actor=alice, reason="Go")

    pending = services.rule_set_version_request_approval(version=draft, actor=alice,
                                                         reason="Please review")
    assert (pending.status, pending.requested_by) == ("pending_approval", alice)
    with pytest.raises(StateConflict, match="a second person must approve"):
        services.rule_set_version_approve(version=pending, actor=alice, reason="LGTM")
    with pytest.raises(StateConflict):  # frozen while it waits for approval
        services.rule_set_draft_edit(version=pending, lock_version=pending.lock_version + 1,
                                     actor=alice, reason="x", add=[EXCLUDE_DOCS])

    v1 = services.rule_set_version_approve(version=pending, actor=carol, reason="Checked")
    assert (v1.number, v1.status, v1.approved_by, v1.published_by) == (1, "published", carol,
                                                                        carol)
    assert events(v1) == [("draft_started", "alice", "Set up Berlin"),
                          ("approval_requested", "alice", "Please review"),
                          ("approved", "carol", "Checked"), ("published", "carol", "Checked")]


def test_four_eyes_refuses_whoever_edited_the_rules(rule_set, alice, bob, carol):
    services.rule_set_update(rule_set=rule_set, actor=alice, reason="4e", requires_approval=True)
    fill(draft_of(rule_set), alice, SUBSTITUTE_TUBE)
    draft = fill(draft_of(rule_set), bob, EXCLUDE_DOCS, reason="bob adds one")
    pending = services.rule_set_version_request_approval(version=draft, actor=alice, reason="r")
    with pytest.raises(StateConflict, match="bob created, edited or submitted"):
        services.rule_set_version_approve(version=pending, actor=bob, reason="fine")
    assert services.rule_set_version_approve(version=pending, actor=carol,
                                             reason="ok").status == "published"


def test_approval_needs_the_permission(rule_set, alice, plant):
    from django.contrib.auth import get_user_model
    nobody = get_user_model().objects.create_user("nobody", password="pw")
    services.rule_set_update(rule_set=rule_set, actor=alice, reason="4e", requires_approval=True)
    draft = fill(draft_of(rule_set), alice, SUBSTITUTE_TUBE)
    pending = services.rule_set_version_request_approval(version=draft, actor=alice, reason="r")
    with pytest.raises(StateConflict, match="right to approve"):
        services.rule_set_version_approve(version=pending, actor=nobody, reason="sure")
    pending.refresh_from_db()
    assert pending.status == "pending_approval"


def test_reject_returns_the_version_to_draft_with_the_reason(rule_set, alice, carol):
    services.rule_set_update(rule_set=rule_set, actor=alice, reason="4e", requires_approval=True)
    draft = fill(draft_of(rule_set), alice, SUBSTITUTE_TUBE)
    pending = services.rule_set_version_request_approval(version=draft, actor=alice, reason="r")
    back = services.rule_set_version_reject(version=pending, actor=carol,
                                            reason="Alternate not approved by quality")
    assert (back.status, back.number, back.requested_by) == ("draft", None, None)
    assert events(back)[-1] == ("rejected", "carol", "Alternate not approved by quality")
    fill(back, alice, EXCLUDE_DOCS)  # editable again


def test_roll_back_with_four_eyes_waits_for_approval(rule_set, alice, carol):
    v1 = published(rule_set, alice, SUBSTITUTE_TUBE)
    services.rule_set_draft_start(rule_set=rule_set, actor=alice, reason="c")
    published(rule_set, alice, EXCLUDE_DOCS)
    services.rule_set_update(rule_set=rule_set, actor=alice, reason="4e", requires_approval=True)
    pending = services.rule_set_version_rollback(version=v1, actor=alice, reason="Back to v1")
    assert (pending.status, pending.number, rule_names(pending)) == (
        "pending_approval", None, ["Alternate tube"])
    assert selectors.current_rule_set_version(plant=rule_set.plant).number == 2
    with pytest.raises(StateConflict):
        services.rule_set_version_approve(version=pending, actor=alice, reason="mine")
    v3 = services.rule_set_version_approve(version=pending, actor=carol, reason="ok")
    assert (v3.number, v3.status) == (3, "published")


def test_a_stale_save_is_refused_and_names_who_saved(rule_set, alice, bob):
    draft = draft_of(rule_set)
    opened = draft.lock_version  # both open the draft
    services.rule_set_draft_edit(version=draft, lock_version=opened, actor=alice, reason="a",
                                 add=[SUBSTITUTE_TUBE])
    draft.refresh_from_db()
    when = timezone.localtime(draft.updated_at).strftime("%H:%M")
    with pytest.raises(StateConflict) as refused:
        services.rule_set_draft_edit(version=draft, lock_version=opened, actor=bob, reason="b",
                                     add=[EXCLUDE_DOCS])
    assert refused.value.detail == (f"alice saved this draft at {when} after you opened it; "
                                    "reload and re-apply your change.")
    assert rule_names(draft) == ["Alternate tube"]
    assert draft.lock_version == opened + 1


@pytest.mark.parametrize(("action", "params", "pointer", "message"), [
    ("substitute", {"part": "NOPE-1"}, "/add/0/params/part",
     "substitute part 'NOPE-1' does not exist"),
    ("substitute", {"part": "TB-310-ALT", "factor": 0}, "/add/0/params/factor",
     "factor must be greater than 0, got 0"),
    ("convert_unit", {"unit": "furlong"}, "/add/0/params/unit", "unknown unit 'furlong'"),
    ("convert_unit", {"unit": "m", "decimals": 2, "round_up_to_multiple": "0.1"},
     "/add/0/params/round_up_to_multiple",
     "round_up_to_multiple always rounds up; do not combine it with decimals or rounding"),
    ("scrap", {"scrap_percent": "-1"}, "/add/0/params/scrap_percent",
     "scrap_percent must not be less than 0, got -1"),
    ("scrap", {"yield_percent": "120"}, "/add/0/params/yield_percent",
     "yield_percent must not be more than 100, got 120"),
    ("set_make_buy", {"make_or_buy": "borrow"}, "/add/0/params/make_or_buy",
     "make_or_buy must be one of make, buy, not 'borrow'"),
    ("assign_operation", {}, "/add/0/params/operation", "operation is missing"),
    ("add_item", {"part": "PK-100", "quantity": "0", "unit": "pcs"}, "/add/0/params/quantity",
     "quantity must be greater than 0, got 0"),
    ("add_item", {"part": "PK-100", "quantity": "1", "unit": "m"}, "/add/0/params/unit",
     "m cannot measure part PK-100 (base unit pcs, no conversion)"),
    ("set_erp_fields", {}, "/add/0/params", "set at least one of item_category, supply_area, "
                                            "backflush"),
    ("set_erp_fields", {"backflush": "yes"}, "/add/0/params/backflush",
     "backflush must be true or false"),
    ("exclude", {"why": "x"}, "/add/0/params/why", "unknown parameter 'why'"),
])
def test_each_action_s_parameters_are_checked_on_save(rule_set, alice, action, params, pointer,
                                                      message):
    draft = draft_of(rule_set)
    rule = RuleInput(order=10, name="r", action=action, params=params,
                     condition={"field": "part", "op": "eq", "value": "TB-310"})
    with pytest.raises(InvalidInput) as refused:
        services.rule_set_draft_edit(version=draft, lock_version=draft.lock_version, actor=alice,
                                     reason="r", add=[rule])
    assert [(e.pointer, e.detail) for e in refused.value.errors] == [(pointer, message)]
    assert draft.rules.count() == 0


def test_a_faulty_condition_is_named_with_its_pointer(rule_set, alice):
    draft = draft_of(rule_set)
    rule = RuleInput(order=10, name="r", action="exclude",
                     condition={"all": [{"field": "part", "op": "eq", "value": "X"},
                                        {"field": "colour", "op": "eq", "value": "red"}]})
    with pytest.raises(InvalidInput) as refused:
        services.rule_set_draft_edit(version=draft, lock_version=0, actor=alice, reason="r",
                                     add=[rule])
    [error] = refused.value.errors
    assert error.pointer.startswith("/add/0/condition/all/1")
    assert "colour" in error.detail


def test_a_rule_set_that_cannot_run_is_not_published_and_nothing_changes(rule_set, alice):
    draft = fill(draft_of(rule_set), alice, SUBSTITUTE_TUBE, TUBES_IN_M)
    # The alternate tube is made obsolete after the rule was written: the rule can no longer run.
    catalog.part_update(part=Part.objects.get(number="TB-310-ALT"), actor=alice,
                        reason="Supplier stopped", lifecycle_state="obsolete")
    before = (MappingRuleSetEvent.objects.count(), MappingRuleSetVersion.history.count(),
              draft.lock_version)
    with pytest.raises(InvalidInput) as refused:
        services.rule_set_version_publish(version=draft, actor=alice, reason="Go")
    rule = draft.rules.get(name="Alternate tube")
    assert [(e.pointer, e.detail) for e in refused.value.errors] == [
        (f"/rules/{rule.pk}/params/part",
         "rule 10 “Alternate tube”, params/part: substitute part 'TB-310-ALT' does not exist")]
    draft.refresh_from_db()
    assert (draft.status, draft.number) == ("draft", None)
    assert (MappingRuleSetEvent.objects.count(), MappingRuleSetVersion.history.count(),
            draft.lock_version) == before
    assert [str(p) for p in services.rule_set_version_check(version=draft)] == [
        "rule 10 “Alternate tube”, params/part: substitute part 'TB-310-ALT' does not exist"]


def test_history_and_events_say_who_and_why(rule_set, alice, bob):
    draft = fill(draft_of(rule_set), alice, SUBSTITUTE_TUBE, reason="Alternate agreed with QA")
    rule = draft.rules.get()
    services.rule_set_draft_edit(
        version=draft, lock_version=draft.lock_version, actor=bob, reason="Factor per supplier",
        change={rule.pk: RuleInput(order=10, name="Alternate tube", action="substitute",
                                   condition=SUBSTITUTE_TUBE.condition,
                                   params={"part": "TB-310-ALT", "factor": "1.02"})})
    assert [(h.history_type, h.history_user.username, h.history_change_reason, h.params)
            for h in MappingRule.history.filter(id=rule.pk).order_by("history_id")] == [
        ("+", "alice", "Alternate agreed with QA", {"part": "TB-310-ALT"}),
        ("~", "bob", "Factor per supplier", {"part": "TB-310-ALT", "factor": "1.02"})]
    v1 = services.rule_set_version_publish(version=draft, actor=bob, reason="Plant go-live")
    latest = v1.history.first()
    assert (latest.status, latest.history_user, latest.history_change_reason) == (
        "published", bob, "Plant go-live")
    assert events(v1)[-1] == ("published", "bob", "Plant go-live")


def test_withdrawn_draft_makes_room_for_a_new_one(rule_set, alice):
    published(rule_set, alice, SUBSTITUTE_TUBE)
    draft = services.rule_set_draft_start(rule_set=rule_set, actor=alice, reason="try")
    with pytest.raises(StateConflict, match="has an open version"):
        services.rule_set_draft_start(rule_set=rule_set, actor=alice, reason="again")
    services.rule_set_draft_withdraw(version=draft, actor=alice, reason="Not needed")
    draft.refresh_from_db()
    assert draft.status == "withdrawn"
    assert services.rule_set_draft_start(rule_set=rule_set, actor=alice, reason="again").pk


def test_reasons_are_required(rule_set, alice):
    draft = fill(draft_of(rule_set), alice, SUBSTITUTE_TUBE)
    with pytest.raises(InvalidInput, match="reason is required"):
        services.rule_set_version_publish(version=draft, actor=alice, reason="  ")


def test_plant_context_reads_a_fixed_number_of_queries(rule_set, django_assert_num_queries):
    for count in (1, 3):
        numbers = ["TB-310", "TB-310-ALT", "PK-100"][:count]
        with django_assert_num_queries(4):
            context = selectors.plant_context(plant=rule_set.plant, part_numbers=numbers)
        assert sorted(context.known_parts) == sorted(numbers)
