"""A change order's impact (where-used, open orders with their dates against the effectivity,
the mBOMs that will change) in a fixed number of queries, and the impact flags: raised once
per order, acknowledged, resolved, wrong moves refused, nothing left by a failed transaction."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.db import transaction

from thread.changes.flags import impact_flag_acknowledge, impact_flag_resolve, impact_flags_raise
from thread.changes.impact import change_order_impact
from thread.changes.models import ImpactFlag
from thread.errors import StateConflict
from thread.orders.services import production_orders_upsert, purchase_orders_upsert

from .conftest import mo, po, po_line


@pytest.fixture
def orders(eco, erp):
    purchase_orders_upsert(system=erp.system, actor=None, reason="t", orders=[
        po("4500001", po_line(10, "MT-510", "40", date(2027, 2, 1)),
           po_line(20, "MT-510", "10", date(2027, 1, 8)),
           po_line(30, "WA-M8", "300", date(2027, 1, 8))),  # unchanged by the ECO
        po("4500002", po_line(10, "SC-M8", "900", date(2027, 1, 15)), plant="CLT"),
        po("4500003", po_line(10, "MT-510", "5", date(2027, 3, 1)), status="closed"),
        po("4500004", po_line(10, "MT-511", "5", date(2027, 3, 1))),  # the new motor
    ])
    production_orders_upsert(system=erp.system, actor=None, reason="t", orders=[
        mo("1000001", "BK-100", datetime(2027, 1, 20, 5, tzinfo=UTC)),
        mo("1000002", "MT-500", datetime(2027, 1, 15, 3, tzinfo=UTC), plant="CLT"),
        mo("1000003", "FR-200", datetime(2027, 1, 20, 5, tzinfo=UTC)),
        mo("1000004", "BK-100", datetime(2026, 12, 1, tzinfo=UTC), status="completed"),
    ])


def test_the_impact_lists_what_the_change_hits(orders, eco, django_assert_num_queries):
    # items; eBOM snapshots; their lines; where-used; purchase lines; production orders;
    # the old revisions' mBOM versions
    with django_assert_num_queries(7):
        impact = change_order_impact(change_order=eco)
    [item] = impact.items
    assert (item.part, item.from_revision, item.to_revision, item.effective_from) == (
        "MT-500", "A", "B", date(2027, 1, 15))
    assert [(c.part, c.kind, c.old_quantity, c.new_quantity) for c in item.components] == [
        ("SC-M8", "changed_component", 3, 4), ("MT-510", "removed_component", 1, None)]
    assert item.where_used.top_level == ("BK-100",)
    assert item.where_used.paths == (("MT-500", "BK-100"),)
    assert [(a.part, a.plants) for a in item.where_used.ancestors] == [
        ("BK-100", ("BER", "CLT"))]
    assert [(h.number, h.line_number, h.part, h.kind, h.against.timing, h.against.days)
            for h in item.purchase_orders] == [
        ("4500001", 20, "MT-510", "removed_component", "before", -7),
        ("4500002", 10, "SC-M8", "changed_component", "on_or_after", 0),
        ("4500001", 10, "MT-510", "removed_component", "on_or_after", 17),
    ]
    # 1000002 starts 2027-01-15 03:00 UTC: the 14th in Charlotte, before the effectivity.
    assert [(h.number, h.part, h.kind, h.plant, h.start_date, h.against.days, h.revision)
            for h in item.production_orders] == [
        ("1000002", "MT-500", "affected_part", "CLT", date(2027, 1, 14), -1, "A"),
        ("1000001", "BK-100", "parent_assembly", "BER", date(2027, 1, 20), 5, "A"),
    ]
    assert [(m.plant, m.part, m.revision, m.via) for m in item.mboms] == [
        ("BER", "BK-100", "A", ("MT-500",)), ("BER", "MT-500", "A", ()),
        ("CLT", "BK-100", "A", ("MT-500",)), ("CLT", "MT-500", "A", ())]
    assert "PO 4500001 line 20 (BER): 10 pcs MT-510 open, due 2027-01-08, 7 days before the " \
           "effectivity 2027-01-15" in item.purchase_orders[0].summary


def test_flags_are_raised_once_per_order(orders, eco):
    impact = change_order_impact(change_order=eco)
    flags = impact_flags_raise(change_order=eco, impact=impact, actor=None, reason="approval")
    assert sorted((f.purchase_order.number if f.purchase_order else f.production_order.number,
                   f.kind, f.status) for f in flags) == [
        ("1000001", "parent_assembly", "open"), ("1000002", "affected_part", "open"),
        ("4500001", "removed_component", "open"), ("4500002", "changed_component", "open")]
    po_flag = next(f for f in flags if f.purchase_order and f.purchase_order.number == "4500001")
    assert po_flag.summary.count("PO 4500001") == 2  # both lines, one flag
    assert po_flag.history.get().history_change_reason == "approval"

    again = impact_flags_raise(change_order=eco, impact=change_order_impact(change_order=eco),
                               actor=None, reason="release")
    assert sorted(f.pk for f in again) == sorted(f.pk for f in flags)
    assert ImpactFlag.objects.count() == 4


def test_the_flag_lifecycle(orders, eco, people_for_flags):
    flag = impact_flags_raise(change_order=eco, impact=change_order_impact(change_order=eco),
                              actor=None, reason="release")[0]
    with pytest.raises(StateConflict) as refused:
        impact_flag_resolve(flag=flag, actor=people_for_flags, note="done")
    assert refused.value.errors[0].code == "invalid_transition"
    flag = impact_flag_acknowledge(flag=flag, actor=people_for_flags, note="Buyer informed")
    with pytest.raises(StateConflict):
        impact_flag_acknowledge(flag=flag, actor=people_for_flags, note="again")
    flag = impact_flag_resolve(flag=flag, actor=people_for_flags, note="PO reduced to 10")
    flag.refresh_from_db()
    assert (flag.status, flag.acknowledged_by, flag.acknowledge_note, flag.resolved_by,
            flag.resolution_note) == ("resolved", people_for_flags, "Buyer informed",
                                      people_for_flags, "PO reduced to 10")
    assert [(h.status, h.history_user, h.history_change_reason) for h in flag.history.all()] == [
        ("resolved", people_for_flags, "PO reduced to 10"),
        ("acknowledged", people_for_flags, "Buyer informed"), ("open", None, "release")]


def test_flags_raised_in_a_failed_transaction_leave_nothing(orders, eco):
    impact = change_order_impact(change_order=eco)
    with pytest.raises(RuntimeError), transaction.atomic():
        impact_flags_raise(change_order=eco, impact=impact, actor=None, reason="release")
        raise RuntimeError("the release failed after raising its flags")
    assert not ImpactFlag.objects.exists() and not ImpactFlag.history.exists()


@pytest.fixture
def people_for_flags(roles):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user("carol", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name="change manager"))
    return user


def test_the_demo_shows_eco_1001_hitting_the_motor_order_and_the_bike_production(db):
    from thread.changes.models import ChangeOrder
    from thread.demo.seed import seed_demo

    seed_demo()
    assert seed_demo().created == {}
    impact = change_order_impact(change_order=ChangeOrder.objects.get(number="ECO-1001"))
    [item] = impact.items
    assert (item.part, item.where_used.top_level) == ("MT-500", ("BK-100",))
    assert [(h.number, h.line_number, h.part, h.against.days) for h in item.purchase_orders] == [
        ("4500012345", 10, "MT-510", -7), ("4500012345", 20, "MT-510", 21)]
    # Charlotte's 1000458 is planned for the week the demo runs: before the effectivity.
    soon = [h for h in item.production_orders if h.number == "1000458"]
    assert [h.against.days < 0 for h in soon] == [True]
    assert [(h.number, h.part, h.kind, h.against.days, h.revision)
            for h in item.production_orders if h.number != "1000458"] == [
        ("1000456", "BK-100", "parent_assembly", 5, "B"),
        ("1000457", "BK-100", "parent_assembly", 10, "B")]
    assert {(m.plant, m.part) for m in item.mboms} == {
        ("BER", "BK-100"), ("BER", "MT-500"), ("CLT", "BK-100"), ("CLT", "MT-500")}
