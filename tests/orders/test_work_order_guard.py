"""The superseded guard (thread.orders.work_orders.guard): a released change order, a shift
batch and a build hold a work order whose revision or mBOM version no longer matches its order;
an analyst sends it as resolved (when the change order's disposition allows) or re-resolves it,
both audited."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model

from connectors.b2mml.parse import parse_schedule_message
from thread.bom.models import MBomVersion
from thread.changes import selectors, services
from thread.changes.choices import ChangeOrderStatus
from thread.changes.models import AffectedItem, ChangeOrder
from thread.demo.seed import seed_demo
from thread.errors import StateConflict
from thread.flows.models import AttentionItem
from thread.orders.choices import WorkOrderDecision, WorkOrderStatus
from thread.orders.models import WorkOrder
from thread.orders.work_orders.batches import shift_batches_send
from thread.orders.work_orders.guard import work_order_re_resolve, work_order_send_as_resolved

from .test_shift_batches import WEEKDAYS, shift_start_timing, utc
from .work_order_support import release

BERLIN = ZoneInfo("Europe/Berlin")


def release_eco_1001(open_orders_disposition: str | None = None):
    seed_demo()
    manager = get_user_model().objects.create_superuser("cm", "cm@example.com", "pw")
    eco = ChangeOrder.objects.get(number="ECO-1001")
    if open_orders_disposition is not None:
        AffectedItem.objects.filter(change_order=eco).update(
            open_orders_disposition=open_orders_disposition)
    while eco.status == ChangeOrderStatus.IN_REVIEW:
        for stage in selectors.stages_open_for(change_order=eco, user=manager):
            services.change_order_approve_stage(change_order=eco, stage=stage, actor=manager,
                                                comment="ok")
        eco.refresh_from_db()
    services.change_order_release(change_order=eco, actor=manager, reason="Release ECO-1001")
    eco.refresh_from_db()
    return eco, manager


def test_a_released_change_order_flags_what_it_supersedes_and_re_resolving_sends_a_change(db):
    eco, manager = release_eco_1001()
    assert "1000456" in eco.events.get(kind="released").details["work_orders_held"]
    berlin = WorkOrder.objects.get(number="1000456")
    built_from = berlin.mbom_version
    assert berlin.status in (WorkOrderStatus.PENDING, WorkOrderStatus.SENT)  # the MES has it
    assert berlin.awaiting_decision == WorkOrderDecision.SUPERSEDED
    assert berlin.decision_context["change_order"] == "ECO-1001"
    assert berlin.decision_context["as_resolved_allowed"] is False  # disposition: rework
    item = AttentionItem.objects.get(kind="work_order_decision", about_id=str(berlin.pk))
    assert item.state == "open" and "ECO-1001 superseded it" in item.reason
    # Rework forbids building the old revision as resolved.
    with pytest.raises(StateConflict, match="disposition of open orders"):
        work_order_send_as_resolved(work_order=berlin, actor=manager, reason="build it anyway")
    work_order_re_resolve(work_order=berlin, actor=manager, reason="Build rev B as ECO-1001 says")
    berlin.refresh_from_db()
    # ECO-1001 changes the drive unit inside BK-100: the bike's mBOM was regenerated.
    assert berlin.awaiting_decision == "" and berlin.mbom_version != built_from
    assert (berlin.revision, berlin.mbom_version) == (berlin.production_order.revision,
                                                      berlin.production_order.mbom_version)
    assert berlin.mbom_version.is_current
    change = berlin.outbound_messages.order_by("pk").last()
    assert change.topic == "work_order_change"
    [sent] = parse_schedule_message(change.payload["$document"]["text"].encode()).work_orders
    assert sent.revision == berlin.revision.label
    item.refresh_from_db()
    assert item.state == "resolved" and "Build rev B" in item.resolution
    record = berlin.history.first()
    assert (record.history_user, record.history_change_reason) == (
        manager, "Build rev B as ECO-1001 says")


def test_a_held_work_order_gets_the_superseded_reason_too(db):
    release_eco_1001()
    charlotte = WorkOrder.objects.get(number="1000457")
    assert charlotte.status == WorkOrderStatus.HELD
    codes = [h["code"] for h in charlotte.hold_reasons]
    assert "superseded" in codes and "unknown_operation" in codes
    assert charlotte.awaiting_decision == WorkOrderDecision.SUPERSEDED


def test_use_as_is_lets_the_analyst_send_as_resolved(db):
    _, manager = release_eco_1001(open_orders_disposition="use_as_is")
    berlin = WorkOrder.objects.get(number="1000456")
    sent_before = berlin.outbound_messages.count()
    work_order_send_as_resolved(work_order=berlin, actor=manager,
                                reason="Rev A motors in stock for this lot")
    berlin.refresh_from_db()
    assert berlin.awaiting_decision == "" and berlin.outbound_messages.count() == sent_before
    assert not berlin.mbom_version.is_current  # the MES builds what was resolved
    assert berlin.history.first().history_change_reason == "Rev A motors in stock for this lot"
    assert AttentionItem.objects.get(kind="work_order_decision",
                                     about_id=str(berlin.pk)).state == "resolved"


def test_the_shift_batch_holds_a_superseded_work_order_until_sent_as_resolved(shop_floor):
    shift_start_timing(shop_floor, {day: ["06:00"] for day in WEEKDAYS})
    release(shop_floor["erp"], start=datetime(2027, 1, 20, 8, tzinfo=BERLIN))
    work_order = WorkOrder.objects.get()
    assert work_order.status == WorkOrderStatus.SCHEDULED
    # The mBOM was regenerated meanwhile (rules changed): the version built from is not current.
    MBomVersion.objects.filter(pk=work_order.mbom_version_id).update(is_current=False)
    shift_batches_send(now=utc(2027, 1, 20, 5, 1))
    work_order.refresh_from_db()
    assert (work_order.status, work_order.awaiting_decision) == ("held", "superseded")
    assert not work_order.outbound_messages.exists()
    assert "no longer current" in work_order.hold_reasons[0]["detail"]
    work_order_send_as_resolved(work_order=work_order, actor=None, reason="Same content")
    work_order.refresh_from_db()
    assert work_order.status == WorkOrderStatus.SCHEDULED and work_order.hold_reasons == []
    shift_batches_send(now=utc(2027, 1, 21, 5, 1))  # the next batch takes it
    work_order.refresh_from_db()
    assert work_order.status == WorkOrderStatus.PENDING
    assert AttentionItem.objects.get(kind="work_order_held").state == "resolved"
