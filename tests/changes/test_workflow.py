"""Change orders through the services: every transition and refusal, the stage rules, the
rejection back to draft, release with effectivity, and the story in events and history."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth import get_user_model

from thread.bom.ebom import services as bom
from thread.catalog import services as catalog
from thread.catalog.choices import RevisionStatus
from thread.catalog.effectivity import EffectivityInput
from thread.catalog.models import Part, PartRevision, RevisionEffectivity
from thread.catalog.selectors import revision_in_effect
from thread.changes import services
from thread.changes.choices import ChangeOrderStatus
from thread.changes.models import Approval, ChangeOrder
from thread.errors import InvalidInput, StateConflict

from .conftest import ALL_USE_AS_IS, DATE_2027, stage


def events(eco) -> list[tuple]:
    return list(eco.events.order_by("id").values_list("kind", "actor__username", "reason",
                                                      "from_status", "to_status"))


def submit(eco, people):
    return services.change_order_submit(change_order=eco, actor=people["carol"],
                                        reason="Ready for review")


def approve(eco, name, user, comment="ok"):
    return services.change_order_approve_stage(change_order=eco, stage=stage(eco, name),
                                               actor=user, comment=comment)


def approved(eco, people):
    submit(eco, people)
    approve(eco, "Engineering", people["carol"], "Torque calculation checked")
    return approve(eco, "Manufacturing engineering", people["andy"], "Fits the line")


def test_the_whole_story_draft_review_approved_released(draft_eco, drive, people):
    eco = submit(draft_eco, people)
    assert (eco.status, eco.review_round) == ("in_review", 1)
    assert eco.affected_items.get().reviewed_ebom.revision == drive["B"]
    eco = approve(eco, "Engineering", people["carol"], "Torque calculation checked")
    assert eco.status == "in_review"  # manufacturing engineering is still required
    eco = approve(eco, "Manufacturing engineering", people["andy"], "Fits the line")
    assert (eco.status, eco.approved_at is not None) == ("approved", True)
    eco = services.change_order_release(change_order=eco, actor=people["carol"],
                                        reason="Supplier ready")
    assert (eco.status, eco.released_by) == ("released", people["carol"])
    drive["A"].refresh_from_db()
    drive["B"].refresh_from_db()
    assert (drive["A"].status, drive["B"].status) == ("superseded", "released")
    assert drive["B"].history.first().history_change_reason == "ECO-1: Supplier ready"
    assert events(eco) == [
        ("created", "carol", "Customer complaints about hill climbing", "", "draft"),
        ("item_added", "carol", "scope", "", ""),
        ("submitted", "carol", "Ready for review", "draft", "in_review"),
        ("stage_approved", "carol", "Torque calculation checked", "", ""),
        ("stage_approved", "andy", "Fits the line", "", ""),
        ("approved", "andy", "Fits the line", "in_review", "approved"),
        ("released", "carol", "Supplier ready", "approved", "released"),
    ]
    # No plant has published rules here, so the release regenerates, sends and flags nothing
    # (tests/changes/test_release.py covers the propagation).
    assert eco.events.get(kind="released").details == {
        "released": ["MT-500 rev B"], "superseded": ["MT-500 rev A"], "obsolete": [],
        "mboms": [], "messages": 0, "flags": 0, "production_orders_resolved": [],
        "work_orders_held": []}
    assert [(h.status, h.history_user.username if h.history_user else None,
             h.history_change_reason) for h in eco.history.order_by("history_id")] == [
        ("draft", "carol", "Customer complaints about hill climbing"),
        ("in_review", "carol", "Ready for review"),
        ("approved", "andy", "Fits the line"),
        ("released", "carol", "Supplier ready"),
    ]
    # Released, but the date has not come: A stays in effect until 2027-01-15.
    part = drive["part"]
    assert revision_in_effect(part=part, as_of=date(2027, 1, 14)) == drive["A"]
    assert revision_in_effect(part=part, as_of=date(2027, 1, 15)) == drive["B"]
    assert revision_in_effect(part=part) == drive["B"]  # the latest design


@pytest.mark.parametrize("status, transitions", [
    ("draft", ["approve", "reject", "release"]),
    ("in_review", ["submit", "release", "update"]),
    ("approved", ["submit", "approve", "reject", "update"]),
    ("released", ["submit", "approve", "reject", "release", "cancel", "update"]),
    ("cancelled", ["submit", "approve", "reject", "release", "cancel", "update"]),
])
def test_every_invalid_transition_is_refused_with_a_clear_error(draft_eco, people, status,
                                                                transitions):
    eco = draft_eco
    if status != "draft":
        if status == "cancelled":
            eco = services.change_order_cancel(change_order=eco, actor=people["carol"],
                                               reason="Not needed")
        else:
            submit(eco, people)
        if status in ("approved", "released"):
            approve(eco, "Engineering", people["carol"])
            eco = approve(eco, "Manufacturing engineering", people["andy"])
        if status == "released":
            eco = services.change_order_release(change_order=eco, actor=people["carol"],
                                                reason="go")
    calls = {
        "submit": lambda: submit(eco, people),
        "approve": lambda: approve(eco, "Engineering", people["carol"]),
        "reject": lambda: services.change_order_reject(change_order=eco, actor=people["carol"],
                                                       reason="no"),
        "release": lambda: services.change_order_release(change_order=eco,
                                                         actor=people["carol"], reason="go"),
        "cancel": lambda: services.change_order_cancel(change_order=eco, actor=people["carol"],
                                                       reason="stop"),
        "update": lambda: services.change_order_update(change_order=eco, actor=people["carol"],
                                                       reason="x", title="Other"),
    }
    before = eco.events.count()
    for name in transitions:
        with pytest.raises(StateConflict) as refused:
            calls[name]()
        assert refused.value.errors[0].pointer == "/status"
        assert refused.value.errors[0].code == "invalid_transition"
        assert f"ECO-1 is {ChangeOrderStatus(status).label.lower()}" in refused.value.detail
    assert ChangeOrder.objects.get(pk=eco.pk).status == status
    assert eco.events.count() == before


def test_a_reason_is_required_for_every_transition(draft_eco, people):
    for call in (
        lambda: services.change_order_submit(change_order=draft_eco, actor=people["carol"],
                                             reason=" "),
        lambda: services.change_order_cancel(change_order=draft_eco, actor=people["carol"],
                                             reason=""),
    ):
        with pytest.raises(InvalidInput, match="reason is required"):
            call()


def test_submit_needs_a_complete_change_order(design_change, drive, people, units):
    eco = services.change_order_create(number="ECO-2", title="t", change_type=design_change,
                                       actor=people["carol"], reason="r")
    with pytest.raises(InvalidInput) as empty:
        submit(eco, people)
    assert empty.value.errors[0].pointer == "/affected_items"
    item = services.affected_item_add(change_order=eco, part=drive["part"], kind="modify",
                                      from_revision=drive["A"], to_revision=drive["B"],
                                      actor=people["carol"], reason="r",
                                      stock_disposition="scrap")
    with pytest.raises(InvalidInput) as incomplete:
        submit(eco, people)
    assert [(e.pointer, e.code) for e in incomplete.value.errors] == [
        ("/affected_items/0/effectivity", "required"),
        ("/affected_items/0/wip_disposition", "required"),
        ("/affected_items/0/open_orders_disposition", "required"),
    ]
    services.affected_item_update(item=item, actor=people["carol"], reason="complete",
                                  effectivity=DATE_2027, wip_disposition="rework",
                                  open_orders_disposition="use_as_is")
    assert submit(eco, people).status == "in_review"


def test_a_made_parts_new_revision_needs_an_ebom(design_change, drive, people):
    c = catalog.revision_create(part=drive["part"], label="C", actor=None, reason="empty")
    eco = services.change_order_create(number="ECO-X", title="t", change_type=design_change,
                                       actor=None, reason="r")
    services.affected_item_add(change_order=eco, part=drive["part"], kind="modify",
                               from_revision=drive["A"], to_revision=c, effectivity=DATE_2027,
                               actor=None, reason="r", **ALL_USE_AS_IS)
    with pytest.raises(InvalidInput) as refused:
        submit(eco, people)
    assert [(e.pointer, e.code) for e in refused.value.errors] == [
        ("/affected_items/0/to_revision", "no_ebom")]


def test_affected_items_are_checked_when_added(design_change, drive, people):
    eco = services.change_order_create(number="ECO-3", title="t", change_type=design_change,
                                       actor=None, reason="r")
    add = services.affected_item_add
    with pytest.raises(InvalidInput) as refused:
        add(change_order=eco, part=drive["part"], kind="modify", from_revision=drive["B"],
            to_revision=drive["A"], actor=None, reason="r",
            effectivity=EffectivityInput(kind="serial", serial_from="SN-20", serial_to="SN-10"))
    assert [(e.pointer, e.code) for e in refused.value.errors] == [
        ("/from_revision", "not_released"), ("/to_revision", "not_draft"),
        ("/effectivity/serial_to", "invalid")]
    with pytest.raises(InvalidInput) as remove:
        add(change_order=eco, part=drive["part"], kind="remove", from_revision=drive["A"],
            to_revision=drive["B"], actor=None, reason="r")
    assert [(e.pointer, e.code) for e in remove.value.errors] == [("/to_revision", "not_allowed")]
    add(change_order=eco, part=drive["part"], kind="modify", from_revision=drive["A"],
        to_revision=drive["B"], actor=None, reason="r")
    with pytest.raises(InvalidInput) as twice:
        add(change_order=eco, part=drive["part"], kind="modify", from_revision=drive["A"],
            to_revision=drive["B"], actor=None, reason="r")
    assert ("/part", "duplicate") in [(e.pointer, e.code) for e in twice.value.errors]
    other = services.change_order_create(number="ECO-4", title="t", change_type=design_change,
                                         actor=None, reason="r")
    with pytest.raises(InvalidInput) as taken:
        add(change_order=other, part=drive["part"], kind="modify", from_revision=drive["A"],
            to_revision=drive["B"], actor=None, reason="r")
    assert [(e.pointer, e.code) for e in taken.value.errors] == [
        ("/to_revision", "in_other_change_order")]


def test_items_change_only_in_draft_and_removing_one_drops_its_effectivity(draft_eco, drive,
                                                                          people):
    item = draft_eco.affected_items.get()
    assert RevisionEffectivity.objects.get(revision=drive["B"]).effective_from == date(2027, 1,
                                                                                        15)
    submit(draft_eco, people)
    with pytest.raises(StateConflict):
        services.affected_item_remove(item=item, actor=people["carol"], reason="x")
    services.change_order_reject(change_order=draft_eco, actor=people["carol"], reason="rework")
    services.affected_item_remove(item=item, actor=people["carol"], reason="wrong part")
    assert not RevisionEffectivity.objects.filter(revision=drive["B"]).exists()
    assert RevisionEffectivity.history.filter(revision_id=drive["B"].pk).count() == 2
    assert draft_eco.events.order_by("-id").first().details == {
        "part": "MT-500", "kind": "modify", "from": "A", "to": "B"}


def test_stages_need_a_member_of_their_groups(draft_eco, people):
    submit(draft_eco, people)
    for user in (people["andy"], people["eve"], people["quinn"]):
        with pytest.raises(StateConflict) as refused:
            approve(draft_eco, "Engineering", user)
        assert (refused.value.kind, refused.value.errors[0].code) == ("forbidden",
                                                                      "not_an_approver")
    assert not Approval.objects.exists()


def test_a_stage_is_approved_once_per_round(draft_eco, people):
    submit(draft_eco, people)
    approve(draft_eco, "Engineering", people["carol"])
    with pytest.raises(StateConflict) as twice:
        approve(draft_eco, "Engineering", people["carol"])
    assert twice.value.errors[0].code == "already_approved"


def test_stages_follow_their_order_and_optional_ones_never_hold_back(draft_eco, people):
    submit(draft_eco, people)
    with pytest.raises(StateConflict) as early:
        approve(draft_eco, "Manufacturing engineering", people["andy"])
    assert early.value.errors[0].code == "earlier_stage_open"
    assert "comes after Engineering" in early.value.detail
    with pytest.raises(StateConflict):
        approve(draft_eco, "Quality", people["quinn"])  # after both required ones
    approve(draft_eco, "Engineering", people["carol"])
    eco = approve(draft_eco, "Manufacturing engineering", people["andy"])
    assert eco.status == "approved"  # quality is optional


def test_an_optional_stage_may_be_approved_while_in_review(draft_eco, people):
    draft_eco.change_type.stages.filter(name="Quality").update(order=15)
    submit(draft_eco, people)
    approve(draft_eco, "Engineering", people["carol"])
    eco = approve(draft_eco, "Quality", people["quinn"], "Test plan updated")
    assert eco.status == "in_review"
    assert approve(eco, "Manufacturing engineering", people["andy"]).status == "approved"


def test_rejection_returns_to_draft_and_the_next_round_starts_over(draft_eco, people):
    submit(draft_eco, people)
    approve(draft_eco, "Engineering", people["carol"], "fine by engineering")
    eco = services.change_order_reject(change_order=draft_eco, actor=people["andy"],
                                       stage=stage(draft_eco, "Manufacturing engineering"),
                                       reason="The new motor needs a new fixture")
    assert eco.status == "draft"
    assert eco.events.order_by("-id").values_list("kind", "reason", "details").first() == (
        "rejected", "The new motor needs a new fixture",
        {"stage": "Manufacturing engineering", "round": 1})
    eco = submit(eco, people)
    assert eco.review_round == 2
    with pytest.raises(StateConflict, match="comes after Engineering"):
        approve(eco, "Manufacturing engineering", people["andy"])
    approve(eco, "Engineering", people["carol"], "again")
    assert approve(eco, "Manufacturing engineering", people["andy"]).status == "approved"
    assert list(Approval.objects.order_by("id").values_list(
        "review_round", "stage_name", "decision", "approver__username")) == [
        (1, "Engineering", "approved", "carol"),
        (1, "Manufacturing engineering", "rejected", "andy"),
        (2, "Engineering", "approved", "carol"),
        (2, "Manufacturing engineering", "approved", "andy"),
    ]


def test_only_approvers_or_change_managers_reject(draft_eco, people):
    submit(draft_eco, people)
    with pytest.raises(StateConflict) as refused:
        services.change_order_reject(change_order=draft_eco, actor=people["eve"], reason="no")
    assert refused.value.kind == "forbidden"


def test_cancel_keeps_the_draft_revision_without_effectivity(draft_eco, drive, people):
    submit(draft_eco, people)
    eco = services.change_order_cancel(change_order=draft_eco, actor=people["carol"],
                                       reason="Supplier withdrew the motor")
    assert (eco.status, eco.cancelled_at is not None) == ("cancelled", True)
    drive["B"].refresh_from_db()
    assert drive["B"].status == "draft"
    assert not RevisionEffectivity.objects.filter(revision=drive["B"]).exists()


def test_a_type_without_required_stages_cannot_be_submitted(draft_eco, people):
    draft_eco.change_type.stages.update(required=False)
    with pytest.raises(StateConflict) as refused:
        submit(draft_eco, people)
    assert refused.value.errors[0].code == "no_stages"


def test_release_refuses_what_changed_after_review(draft_eco, drive, people):
    eco = approved(draft_eco, people)
    lines = [{**line, "quantity": "2"} if line["find_number"] == 30 else line
             for line in [{"find_number": 10, "part": "MT-511", "quantity": "1", "unit": "pcs",
                           "item_type": "component"},
                          {"find_number": 30, "part": "SC-M8x16", "quantity": "4",
                           "unit": "pcs", "item_type": "component"}]]
    bom.ebom_push(payload={"part": "MT-500", "revision": "B", "lines": lines}, actor=None,
                  reason="sneaky edit")
    with pytest.raises(StateConflict) as refused:
        services.change_order_release(change_order=eco, actor=people["carol"], reason="go")
    assert [(e.pointer, e.code) for e in refused.value.errors] == [
        ("/affected_items/0/to_revision", "ebom_changed")]
    assert PartRevision.objects.get(pk=drive["B"].pk).status == RevisionStatus.DRAFT


def test_release_of_a_removal_makes_the_revision_obsolete(design_change, drive, people):
    eco = services.change_order_create(number="ECO-9", title="Drop the controller",
                                       change_type=design_change, actor=None, reason="r")
    controller = Part.objects.get(number="MT-520")
    a = catalog.revision_create(part=controller, label="A", actor=None, reason="r")
    a = catalog.revision_release(revision=a, actor=None, reason="r")
    services.affected_item_add(change_order=eco, part=controller, kind="remove",
                               from_revision=a, actor=None, reason="r", **ALL_USE_AS_IS)
    eco = approved(eco, people)
    eco = services.change_order_release(change_order=eco, actor=people["carol"], reason="go")
    a.refresh_from_db()
    assert a.status == "obsolete"
    assert eco.events.get(kind="released").details["obsolete"] == ["MT-520 rev A"]


def test_approve_my_stages_walks_the_stages_that_open_and_stops_at_approval(draft_eco, people):
    """A superuser belongs to every stage's group: one call approves Engineering, then
    Manufacturing engineering (it opens once Engineering is approved), and stops there — the
    change order is approved and the optional Quality stage no longer waits."""
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    services.change_order_submit(change_order=draft_eco, actor=people["carol"], reason="review")
    approved = services.change_order_approve_my_stages(change_order=draft_eco, actor=root,
                                                       comment="all fine")
    assert [s.name for s in approved] == ["Engineering", "Manufacturing engineering"]
    draft_eco.refresh_from_db()
    assert draft_eco.status == "approved"
    assert list(draft_eco.approvals.values_list("stage_name", "approver__username")) == [
        ("Engineering", "root"), ("Manufacturing engineering", "root")]


def test_approve_my_stages_refuses_when_nothing_waits_and_writes_nothing(draft_eco, people):
    services.change_order_submit(change_order=draft_eco, actor=people["carol"], reason="review")
    with pytest.raises(StateConflict, match="No stage of ECO-1 waits for andy"):
        services.change_order_approve_my_stages(change_order=draft_eco, actor=people["andy"],
                                                comment="too early")
    assert not draft_eco.approvals.exists()
