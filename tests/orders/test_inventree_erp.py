"""InvenTree as a plant's ERP, end to end on PostgreSQL: the outbox delivers the plant's mBOM
to a local server that answers as InvenTree's API does, records the ids InvenTree assigned and
every request; a replay converges without a write; InvenTree's build orders come in as
production orders through the ERP's own upsert, twice without duplicates, their progress as
feedback readings, and a poll that dies mid-batch leaves its mark where it was."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from thread.bom.mbom.resend import mbom_versions_send
from thread.bom.models import MBomVersion
from thread.errors import StateConflict
from thread.feedback import erp_progress
from thread.feedback.models import OrderProgress
from thread.feedback.tasks import poll_build_orders
from thread.flows import services as flows
from thread.flows.delivery import drain
from thread.flows.models import DeliveryAttempt, OutboundMessage, PeerObject
from thread.flows.outbox import outbound_message_write
from thread.orders import erp_poll
from thread.orders.erp_poll import build_orders_poll
from thread.orders.models import ErpPollMark, ProductionOrder

from ..support.openapi import assert_documented
from .conftest import INVENTREE_TOKEN as TOKEN

READINGS = "/api/v1/feedback/order-progress-readings/"


def poll(erp):
    return build_orders_poll(system=erp.system, progress=erp_progress.build_progress_record)


def bike_bom(fake):
    bike = next(pk for pk, p in fake.parts.items() if p["IPN"] == "BK-100")
    ipn = {pk: p["IPN"] for pk, p in fake.parts.items()}
    return sorted(ipn[i["sub_part"]] for i in fake.bom_items.values() if i["part"] == bike)


def test_the_plants_mbom_reaches_inventree_as_a_validated_bom_and_a_replay_converges(
        inventree, erp):
    berlin = OutboundMessage.objects.get(system=erp.system, topic="mbom.published",
                                         payload__plant="BER", payload__part="BK-100")
    report = drain(prefer_ids=[berlin.pk], budget_seconds=30)
    berlin.refresh_from_db()
    assert berlin.status == "delivered", berlin.last_error
    assert report.delivered >= 1
    assert bike_bom(inventree) == ["FR-200", "MT-500"]  # the document is excluded by rule
    bike = next(p for p in inventree.parts.values() if p["IPN"] == "BK-100")
    assert bike["bom_validated"] and bike["revision"] == "A"
    # The ids InvenTree assigned, per system; every request of the delivery in the attempt.
    ids = dict(PeerObject.objects.filter(system=erp.system, kind="part")
               .values_list("natural_key", "peer_id"))
    assert ids["BK-100|A"] == str(bike["pk"])
    attempt = DeliveryAttempt.objects.get(message=berlin)
    assert attempt.steps[0]["url"].endswith("/api/") and len(attempt.steps) > 5
    assert all(TOKEN not in str(step) for step in attempt.steps)
    # The same mBOM delivered again (a repeat of the message): read, nothing to change.
    writes = inventree.writes
    with transaction.atomic():
        again = outbound_message_write(system=erp.system, topic=berlin.topic,
                                       payload=berlin.payload, about=berlin.about, cause=None,
                                       ordering_key="repeat")
    drain(prefer_ids=[again.pk], budget_seconds=30)
    again.refresh_from_db()
    assert again.status == "delivered" and inventree.writes == writes
    assert "0 writes" in DeliveryAttempt.objects.get(message=again).request_summary


def test_a_400_from_inventree_is_dead_with_its_message(inventree, erp):
    flows.system_delivery_configure(system=erp.system, actor=None, reason="wrong category",
                                    connector_options={"category": 999, "plant": "BER"})
    message = OutboundMessage.objects.filter(system=erp.system, topic="mbom.published").first()
    drain(prefer_ids=[message.pk], budget_seconds=30)
    message.refresh_from_db()
    assert message.status == "dead"
    assert 'Invalid pk \\"999\\" - object does not exist.' in message.last_error


def add_builds(fake):
    bike = fake.add_part("E-bike", IPN="BK-100", revision="A", assembly=True)
    unknown = fake.add_part("Not in Thread", IPN="XX-1", assembly=True)
    fake.add_build(bike, quantity=12, reference="BO-0001", status=20,
                   start_date="2027-01-20", target_date="2027-01-22")
    fake.add_build(bike, quantity=5, reference="BO-0002", status=10,
                   creation_date="2026-12-01")
    fake.add_build(unknown, quantity=1, reference="BO-0003", status=20)
    return bike


def test_build_orders_come_in_as_production_orders_twice_without_duplicates(inventree, erp):
    add_builds(inventree)
    report = poll(erp)
    assert (report.read, report.written, report.error) == (3, 2, "")
    assert report.skipped == ["BO-0003: part XX-1, status 20"]
    orders = {o.number: o for o in ProductionOrder.objects.filter(system=erp.system)}
    assert set(orders) == {"BO-0001", "BO-0002"}
    released = orders["BO-0001"]
    assert (released.status, released.quantity, released.plant.code) == ("released", 12, "BER")
    assert released.planned_start.astimezone(ZoneInfo("Europe/Berlin")).date() == \
        date(2027, 1, 20)  # the build's start day at the plant
    assert released.revision is not None
    assert (orders["BO-0002"].status, orders["BO-0002"].erp_status) == ("planned", "Pending")
    assert ErpPollMark.objects.get(system=erp.system).last_error == ""
    again = poll(erp)
    assert (again.read, again.written) == (3, 0)
    assert ProductionOrder.objects.filter(system=erp.system).count() == 2
    assert not OrderProgress.objects.exists()  # no build has progress yet


def test_a_builds_progress_becomes_a_feedback_reading_once_per_change(inventree, erp, person):
    add_builds(inventree)
    poll_build_orders()
    build = next(pk for pk, b in inventree.builds.items() if b["reference"] == "BO-0001")
    inventree.update_build(build, completed=7)
    first = poll(erp)
    assert (first.written, first.progress_recorded) == (0, 1)  # the mirror itself is unchanged
    reading = OrderProgress.objects.get()
    order = ProductionOrder.objects.get(number="BO-0001")
    assert (reading.production_order, reading.completed_quantity, reading.scrapped_quantity) == (
        order, Decimal(7), None)
    assert (reading.revision, reading.plant.code, reading.system) == (
        order.revision, "BER", erp.system)
    assert reading.recorded_by == erp.system.service_user
    assert poll(erp).progress_recorded == 0  # the same progress, read again
    inventree.update_build(build, completed=12, status=40)
    assert [r["progress_recorded"] for r in poll_build_orders()] == [1]
    assert list(OrderProgress.objects.order_by("id")
                .values_list("completed_quantity", flat=True)) == [Decimal(7), Decimal(12)]
    # Read through the API (in the order recorded), by order number.
    auditor = person("auditor")
    listed = auditor.get(READINGS, {"production_order": "BO-0001"})
    assert listed.status_code == 200
    assert_documented(listed, READINGS)
    assert [(r["production_order"], r["part"], r["completed_quantity"], r["scrapped_quantity"])
            for r in listed.json()["results"]] == [("BO-0001", "BK-100", "7.000000", None),
                                                   ("BO-0001", "BK-100", "12.000000", None)]
    assert auditor.get(READINGS, {"production_order": "BO-0002"}).json()["results"] == []


def test_progress_that_cannot_be_recorded_takes_the_orders_and_the_mark_back(
        inventree, erp, monkeypatch):
    add_builds(inventree)

    def crash(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(erp_progress, "order_progress_record", crash)
    assert "database went away" in poll(erp).error
    assert not ProductionOrder.objects.filter(system=erp.system).exists()
    assert ErpPollMark.objects.get(system=erp.system).mark == ""


def test_a_poll_that_dies_mid_batch_leaves_its_mark_and_the_next_one_writes_all(
        inventree, erp, monkeypatch):
    add_builds(inventree)

    def crash(**kwargs):
        raise RuntimeError("worker killed")

    upsert = erp_poll.production_orders_upsert
    monkeypatch.setattr(erp_poll, "production_orders_upsert", crash)
    failed = poll(erp)
    assert failed.error == "worker killed"
    mark = ErpPollMark.objects.get(system=erp.system)
    assert (mark.mark, mark.last_error) == ("", "worker killed")
    assert not ProductionOrder.objects.filter(system=erp.system).exists()
    monkeypatch.setattr(erp_poll, "production_orders_upsert", upsert)
    assert [r["written"] for r in poll_build_orders()] == [2]
    assert ErpPollMark.objects.get(system=erp.system).mark != ""


def test_an_unreachable_inventree_is_reported_on_the_mark(inventree, erp):
    inventree.fail_next(status=503, paths="/api/")
    report = poll(erp)
    assert "503" in report.error
    assert "503" in ErpPollMark.objects.get(system=erp.system).last_error


def test_a_newly_connected_inventree_gets_the_current_mbom_sent_again(inventree, erp):
    """The mBOMs were delivered before InvenTree was the ERP (here: still waiting, cancelled):
    "send again" writes the same message from the stored version, and InvenTree converges."""
    OutboundMessage.objects.filter(system=erp.system).update(status="cancelled")
    version = MBomVersion.objects.get(mbom__plant__code="BER",
                                      mbom__revision__part__number="BK-100", is_current=True)
    original = OutboundMessage.objects.filter(about_id=str(version.pk),
                                              topic="mbom.published").first()
    [message] = mbom_versions_send(versions=[version], actor=None, reason="New ERP connected")
    assert {k: v for k, v in message.payload.items()} == {
        k: v for k, v in original.payload.items() if k != "change_order"}
    drain(prefer_ids=[message.pk], budget_seconds=30)
    message.refresh_from_db()
    assert message.status == "delivered", message.last_error
    assert bike_bom(inventree) == ["FR-200", "MT-500"]
    MBomVersion.objects.filter(pk=version.pk).update(is_current=False)
    with pytest.raises(StateConflict, match="not current"):
        mbom_versions_send(versions=[version], actor=None, reason="old")
