"""Shift-start batches (thread.orders.work_orders.batches): work orders wait for their shift and
are sent once — across a daylight-saving change, a double run and a late run after downtime —
alone or as one document; an order released after its batch waits for the next or goes at
once; a plant without a shift calendar holds its work orders."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from lxml import etree

from connectors.b2mml.parse import parse_operations_schedule
from connectors.b2mml.validate import validate_xml
from thread.catalog import services as catalog
from thread.flows.hooks import run_after_delivered
from thread.flows.models import OutboundMessage
from thread.orders.models import ShiftBatch, WorkCenter, WorkOrder
from thread.orders.work_orders.batches import shift_batches_send

from .work_order_support import release

BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def shift_start_timing(shop_floor, calendar, **settings):
    plant = shop_floor["plants"]["BER"]
    WorkCenter.objects.filter(plant=plant).update(shift_starts={})
    WorkCenter.objects.filter(plant=plant, code="ASM-1").update(shift_starts=calendar)
    return catalog.plant_update(plant=plant, work_order_timing="shift_start", actor=None,
                                reason="t", **settings)


def mes_messages(shop_floor):
    return OutboundMessage.objects.filter(system=shop_floor["mes"].system).order_by("pk")


def test_a_work_order_waits_for_its_shift_and_is_sent_once(shop_floor):
    shift_start_timing(shop_floor, {day: ["06:00", "14:00"] for day in WEEKDAYS})
    # Planned 2027-01-20 08:00 Berlin: in the 06:00 shift (05:00 UTC).
    release(shop_floor["erp"], start=datetime(2027, 1, 20, 8, tzinfo=BERLIN))
    work_order = WorkOrder.objects.get()
    assert work_order.status == "scheduled" and not mes_messages(shop_floor).exists()
    shift_batches_send(now=utc(2027, 1, 20, 4, 59))  # earlier shifts' batches: not its own
    assert WorkOrder.objects.get().status == "scheduled"
    [batch] = [b for b in shift_batches_send(now=utc(2027, 1, 20, 5, 0, 30))
               if b.shift_key == "2027-01-20 06:00"]
    work_order.refresh_from_db()
    assert (work_order.status, work_order.shift_batch) == ("pending", batch)
    assert [m.topic for m in mes_messages(shop_floor)] == ["material_definitions", "work_order"]
    # The same run again, or a second cluster: nothing twice.
    assert shift_batches_send(now=utc(2027, 1, 20, 5, 1)) == []
    assert mes_messages(shop_floor).count() == 2


def test_a_late_run_after_downtime_skips_nothing_and_sends_nothing_twice(shop_floor):
    shift_start_timing(shop_floor, {day: ["06:00", "14:00"] for day in WEEKDAYS})
    for number, hour in (("1000001", 7), ("1000002", 15)):
        release(shop_floor["erp"], number=number,
                start=datetime(2027, 1, 20, hour, tzinfo=BERLIN))
    # The cluster was down all day: the first run comes the next morning.
    batches = shift_batches_send(now=utc(2027, 1, 21, 9))
    keys = [b.shift_key for b in batches]
    assert keys[-3:] == ["2027-01-20 06:00", "2027-01-20 14:00", "2027-01-21 06:00"]
    sent = {w.number: w.shift_batch.shift_key for w in WorkOrder.objects.all()}
    assert sent == {"1000001": "2027-01-20 06:00", "1000002": "2027-01-20 14:00"}
    assert mes_messages(shop_floor).filter(topic="work_order").count() == 2
    assert shift_batches_send(now=utc(2027, 1, 21, 9, 5)) == []


def test_the_spring_forward_start_that_does_not_exist_runs_when_the_clocks_jump(shop_floor):
    shift_start_timing(shop_floor, {"sun": ["02:30"], "mon": ["06:00"]})
    release(shop_floor["erp"], start=datetime(2027, 3, 28, 4, tzinfo=BERLIN))
    shift_batches_send(now=utc(2027, 3, 28, 0, 59))  # 01:59 CET: the shift has not started
    assert WorkOrder.objects.get().status == "scheduled"
    batches = shift_batches_send(now=utc(2027, 3, 28, 1, 0, 30))  # 03:00:30 CEST
    assert [(b.shift_key, b.starts_at) for b in batches][-1] == (
        "2027-03-28 02:30", utc(2027, 3, 28, 1, 0))
    assert WorkOrder.objects.get().status == "pending"


def test_the_autumn_hour_that_repeats_runs_once(shop_floor):
    shift_start_timing(shop_floor, {"sun": ["02:30"], "mon": ["06:00"]})
    release(shop_floor["erp"], start=datetime(2027, 10, 31, 4, tzinfo=BERLIN))
    first = shift_batches_send(now=utc(2027, 10, 31, 0, 31))  # 02:31 CEST, the first 02:30
    assert first[-1].shift_key == "2027-10-31 02:30"
    assert shift_batches_send(now=utc(2027, 10, 31, 1, 31)) == []  # 02:31 CET, again: nothing
    assert ShiftBatch.objects.filter(shift_key="2027-10-31 02:30").count() == 1


def test_one_document_with_several_requests_where_the_mes_takes_batches(shop_floor):
    shift_start_timing(shop_floor, {day: ["06:00"] for day in WEEKDAYS}, mes_takes_batches=True)
    for number, hour in (("1000002", 9), ("1000001", 7)):
        release(shop_floor["erp"], number=number, start=datetime(2027, 1, 20, hour,
                                                                  tzinfo=BERLIN))
    assert [b.shift_key for b in shift_batches_send(now=utc(2027, 1, 20, 5, 1))][-1] == \
        "2027-01-20 06:00"
    batch_message = mes_messages(shop_floor).get(topic="work_order_batch")
    document = batch_message.payload["$document"]["text"].encode()
    assert validate_xml(document) == []
    # In planned-start order, each request as it was built.
    assert [r.number for r in parse_operations_schedule(document)] == ["1000001", "1000002"]
    assert etree.fromstring(document).tag.endswith("ProcessOperationsSchedule")
    assert {w.document.encode() for w in WorkOrder.objects.all()} == {document}
    # What the drainer does on delivery: the hooks registered for the batch's topic, run
    # while the batch message is leased, after the definitions ahead of it were delivered.
    mes_messages(shop_floor).filter(topic="material_definitions").update(status="delivered")
    mes_messages(shop_floor).filter(pk=batch_message.pk).update(status="sending")
    run_after_delivered([batch_message], utc(2027, 1, 20, 5, 2))
    assert set(WorkOrder.objects.values_list("status", flat=True)) == {"sent"}


def test_an_order_released_after_its_batch_waits_for_the_next_or_goes_at_once(shop_floor):
    shift_start_timing(shop_floor, {day: ["06:00", "14:00"] for day in WEEKDAYS})
    shift_batches_send(now=utc(2027, 1, 20, 5, 1))  # the 06:00 batch has gone (empty)
    release(shop_floor["erp"], number="1000001", start=datetime(2027, 1, 20, 8, tzinfo=BERLIN))
    assert WorkOrder.objects.get(number="1000001").status == "scheduled"  # next_batch
    batches = shift_batches_send(now=utc(2027, 1, 20, 13, 1))
    assert batches[-1].shift_key == "2027-01-20 14:00"
    assert WorkOrder.objects.get(number="1000001").shift_batch == batches[-1]
    catalog.plant_update(plant=shop_floor["plants"]["BER"], late_release="at_once", actor=None,
                         reason="t")
    release(shop_floor["erp"], number="1000002", start=datetime(2027, 1, 20, 15, tzinfo=BERLIN))
    assert WorkOrder.objects.get(number="1000002").status == "pending"  # sent at once


def test_shift_start_timing_without_a_shift_calendar_holds_the_work_order(shop_floor):
    shift_start_timing(shop_floor, {})
    release(shop_floor["erp"])
    assert [h["code"] for h in WorkOrder.objects.get().hold_reasons] == ["no_shift"]
