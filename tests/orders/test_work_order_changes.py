"""Orders that change after their work order was sent (thread.orders.work_orders.follow): the
MES gets a ChangeOperationsSchedule or a CancelOperationsSchedule on the work order's own
ordering key, behind the original; what the MES does not have yet is simply rebuilt or
cancelled; what it has started waits for a person's decision, audited."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from lxml import etree

from connectors.b2mml.parse import parse_schedule_message
from connectors.b2mml.validate import validate_xml
from thread.errors import StateConflict
from thread.flows.models import AttentionItem, OutboundMessage
from thread.orders.choices import WorkOrderDecision, WorkOrderStatus
from thread.orders.models import ProductionOrder, WorkOrder
from thread.orders.work_orders.follow import work_order_erp_change_keep, work_order_erp_change_send
from thread.orders.work_orders.services import work_order_status_report

from .test_shift_batches import WEEKDAYS, shift_start_timing
from .work_order_support import START, release, set_status


def messages(work_order):
    return list(work_order.outbound_messages.order_by("pk"))


def document(message):
    return message.payload["$document"]["text"].encode()


def report(status):
    work_order = WorkOrder.objects.get()
    return work_order_status_report(work_order=work_order, status=status, actor=None, reason="t")


def kit_quantities(work_order):
    return {m.part.number: m.quantity for m in
            work_order.operations.get(sequence=10).materials.select_related("part")}


@pytest.mark.parametrize("at_the_mes", ["pending", "sent", "acknowledged"])
def test_a_quantity_change_reaches_the_mes_as_a_change_behind_the_original(
        shop_floor, erp, at_the_mes):
    release(erp, qty="25")
    if at_the_mes != "pending":
        WorkOrder.objects.update(status=at_the_mes)
    before = kit_quantities(WorkOrder.objects.get())
    release(erp, qty="40", start=START + timedelta(hours=2))  # the ERP's change
    work_order = WorkOrder.objects.get()
    *_, original, change = messages(work_order)
    assert (original.topic, change.topic) == ("work_order", "work_order_change")
    assert original.ordering_key == change.ordering_key == "work-order:BER:1000001"
    assert change.pk > original.pk and original.status == "pending"  # not superseded
    assert validate_xml(document(change)) == []
    assert etree.fromstring(document(change)).tag.endswith("ChangeOperationsSchedule")
    [sent] = parse_schedule_message(document(change)).work_orders
    assert (sent.quantity, sent.planned_start) == (Decimal(40), START + timedelta(hours=2))
    # Requirements recomputed for the new quantity; the work order keeps what was sent.
    assert kit_quantities(work_order) == {p: q / 25 * 40 for p, q in before.items()}
    assert (work_order.quantity, work_order.changes_sent, work_order.build_count) == (40, 1, 2)
    assert work_order.planned_start == START + timedelta(hours=2)
    assert work_order.status == WorkOrderStatus.PENDING
    assert work_order.document.encode() == document(change)
    assert work_order.history.first().history_change_reason == "t"


def test_a_change_before_the_shift_batch_is_a_rebuild_with_nothing_sent(shop_floor, erp):
    shift_start_timing(shop_floor, {day: ["06:00"] for day in WEEKDAYS})
    release(erp, qty="25")
    assert WorkOrder.objects.get().status == WorkOrderStatus.SCHEDULED
    release(erp, qty="30")
    work_order = WorkOrder.objects.get()
    assert (work_order.status, work_order.quantity, work_order.build_count) == (
        WorkOrderStatus.SCHEDULED, 30, 2)
    assert not OutboundMessage.objects.filter(system=shop_floor["mes"].system).exists()


def test_a_cancellation_follows_the_original_and_cancels_the_work_order(shop_floor, erp):
    release(erp)
    report("acknowledged")
    set_status(ProductionOrder.objects.get(), "cancelled")
    work_order = WorkOrder.objects.get()
    *_, original, cancel = messages(work_order)
    assert (original.topic, cancel.topic) == ("work_order", "work_order_cancel")
    assert cancel.ordering_key == original.ordering_key
    assert validate_xml(document(cancel)) == []
    message = parse_schedule_message(document(cancel))
    assert (message.verb, [w.number for w in message.work_orders]) == ("Cancel", ["1000001"])
    assert work_order.status == WorkOrderStatus.CANCELLED and work_order.finished_at
    set_status(ProductionOrder.objects.get(), "cancelled")  # the push again: nothing more
    assert len(messages(work_order)) == 3


def test_cancelling_what_the_mes_never_had_sends_nothing(shop_floor, erp):
    release(erp, plant="CLT")  # held: no routing at Charlotte
    set_status(ProductionOrder.objects.get(), "cancelled")
    work_order = WorkOrder.objects.get()
    assert work_order.status == WorkOrderStatus.CANCELLED
    assert not work_order.outbound_messages.exists()
    assert AttentionItem.objects.get(kind="work_order_held").state == "resolved"


@pytest.mark.parametrize("started", ["in_progress", "completed"])
def test_a_change_after_the_mes_started_waits_for_a_person(shop_floor, erp, started):
    release(erp, qty="25")
    report("acknowledged")
    report(started)
    count = OutboundMessage.objects.count()
    release(erp, qty="30")
    work_order = WorkOrder.objects.get()
    assert OutboundMessage.objects.count() == count  # nothing sent behind the shop floor
    assert (work_order.status, work_order.quantity) == (started, 25)
    assert work_order.awaiting_decision == WorkOrderDecision.ERP_CHANGE
    item = AttentionItem.objects.get(kind="work_order_decision")
    assert "the quantity from 25 to 30 pcs" in item.reason and item.state == "open"
    # The plant agreed: the change goes, the work order keeps its status at the MES.
    work_order_erp_change_send(work_order=work_order, actor=None, reason="Plant agreed by phone")
    work_order.refresh_from_db()
    assert (work_order.quantity, work_order.status, work_order.awaiting_decision) == (
        30, started, "")
    assert messages(work_order)[-1].topic == "work_order_change"
    item.refresh_from_db()
    assert item.state == "resolved" and "Plant agreed by phone" in item.resolution
    assert work_order.history.first().history_change_reason == "Plant agreed by phone"


def test_a_cancellation_after_the_start_is_kept_or_sent_by_a_person(shop_floor, erp):
    release(erp)
    report("in_progress")
    order = ProductionOrder.objects.get()
    set_status(order, "cancelled")
    work_order = WorkOrder.objects.get()
    assert (work_order.status, work_order.awaiting_decision) == ("in_progress", "erp_cancel")
    work_order_erp_change_keep(work_order=work_order, actor=None,
                               reason="Half built: the plant finishes it")
    work_order.refresh_from_db()
    assert (work_order.status, work_order.awaiting_decision) == ("in_progress", "")
    assert not OutboundMessage.objects.filter(topic="work_order_cancel").exists()
    with pytest.raises(StateConflict, match="waits for no such decision"):
        work_order_erp_change_send(work_order=work_order, actor=None, reason="again")
    assert AttentionItem.objects.get(kind="work_order_decision").state == "resolved"


def test_a_change_that_cannot_be_built_changes_nothing_and_waits_for_a_person(shop_floor, erp):
    release(erp, qty="25")
    sent = WorkOrder.objects.get()
    # Planned before the only routing is in effect: no routing for the new date.
    release(erp, qty="25", start=START.replace(year=2025))
    work_order = WorkOrder.objects.get()
    assert (work_order.build_count, work_order.document) == (1, sent.document)
    assert work_order.operations.count() == 2
    assert work_order.awaiting_decision == WorkOrderDecision.ERP_CHANGE
    assert "No released routing" in work_order.decision_context["detail"]
    assert not OutboundMessage.objects.filter(topic="work_order_change").exists()
    with pytest.raises(StateConflict, match="cannot be sent"):
        work_order_erp_change_send(work_order=work_order, actor=None, reason="try")


def test_a_push_that_releases_and_changes_at_once_sends_the_original_only(shop_floor, erp):
    """Planned 25, then released as 40 in one push: the work order is built at 40, and no
    change follows it."""
    release(erp, qty="25", status="planned")
    release(erp, qty="40")
    work_order = WorkOrder.objects.get()
    assert (work_order.quantity, work_order.changes_sent) == (40, 0)
    assert [m.topic for m in messages(work_order)] == ["material_definitions", "work_order"]

