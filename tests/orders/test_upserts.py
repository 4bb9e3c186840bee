"""Order mirrors through the services: upserts by (system, number), lines replaced as sent,
nothing closed implicitly, every problem named with a pointer and nothing written, and
production orders resolved by effectivity on their plant-local planned start."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from thread.bom.mbom.generation import mbom_generate
from thread.bom.models import MBomVersion
from thread.catalog import services as catalog
from thread.catalog.models import PartRevision
from thread.errors import InvalidInput
from thread.flows import services as flows
from thread.orders.models import ProductionOrder, PurchaseOrder, PurchaseOrderLine
from thread.orders.services import (
    production_order_status_set,
    production_orders_resolve,
    production_orders_upsert,
    purchase_orders_upsert,
)

from .conftest import mo, po, po_line


def lines_of(number):
    return [(x.line_number, x.part.number, x.quantity, x.due_date, x.status)
            for x in PurchaseOrderLine.objects.filter(order__number=number)
            .select_related("part").order_by("line_number")]


def test_purchase_orders_are_created_updated_and_never_closed_implicitly(bike, erp):
    first = purchase_orders_upsert(system=erp.system, actor=None, reason="push 1", orders=[
        po("4500001", po_line(10, "MT-510", "40", date(2027, 2, 1)),
           po_line(20, "SC-M8", "500", date(2027, 1, 5))),
        po("4500002", po_line(10, "TB-310", "12.5", date(2027, 1, 20), unit="m")),
    ])
    assert [o.number for o in first.created] == ["4500001", "4500002"]
    assert PurchaseOrder.history.count() == 2 and PurchaseOrderLine.history.count() == 3

    # The second push: order 1 gets a changed line 10, loses line 20, gains line 30;
    # order 2 is not sent and stays open; order 3 is new.
    second = purchase_orders_upsert(system=erp.system, actor=None, reason="push 2", orders=[
        po("4500001", po_line(10, "MT-510", "30", date(2027, 2, 1), received_quantity=Decimal(10),
                              status="partially_received"),
           po_line(30, "WA-M8", "100", date(2027, 3, 1)), status="partially_received"),
        po("4500003", po_line(10, "MT-511", "5", date(2027, 1, 18))),
    ])
    assert ([o.number for o in second.created], [o.number for o in second.updated],
            second.unchanged) == (["4500003"], ["4500001"], [])
    assert lines_of("4500001") == [
        (10, "MT-510", Decimal(30), date(2027, 2, 1), "partially_received"),
        (30, "WA-M8", Decimal(100), date(2027, 3, 1), "open")]
    assert PurchaseOrder.objects.get(number="4500002").status == "open"
    deleted = PurchaseOrderLine.history.filter(history_type="-").get()
    assert (deleted.line_number, deleted.history_change_reason) == (20, "push 2")

    again = purchase_orders_upsert(system=erp.system, actor=None, reason="push 3", orders=[
        po("4500003", po_line(10, "MT-511", "5.000", date(2027, 1, 18)))])
    assert (again.created, again.updated, [o.number for o in again.unchanged]) == (
        [], [], ["4500003"])


def test_another_erp_may_use_the_same_numbers(bike, erp):
    other = flows.system_create(name="ERP 2", kind="erp", actor=None, reason="t")
    for system in (erp.system, other):
        purchase_orders_upsert(system=system, actor=None, reason="t", orders=[
            po("4500001", po_line(10, "MT-510", "1", date(2027, 2, 1)))])
    assert PurchaseOrder.objects.filter(number="4500001").count() == 2


def test_every_problem_is_named_and_nothing_is_written(bike, erp):
    purchase_orders_upsert(system=erp.system, actor=None, reason="t", orders=[
        po("4500001", po_line(10, "MT-510", "40", date(2027, 2, 1)))])
    before = (PurchaseOrder.history.count(), PurchaseOrderLine.history.count())
    with pytest.raises(InvalidInput) as refused:
        purchase_orders_upsert(system=erp.system, actor=None, reason="t", orders=[
            po("4500001", po_line(10, "MT-510", "41", date(2027, 2, 1))),  # fine on its own
            po("4500009", po_line(10, "MT-510", "1", date(2027, 2, 1)),
               po_line(10, "XX-1", "0", date(2027, 2, 1), unit="kg"),
               po_line(30, "TB-310", "1", date(2027, 2, 1), unit="kg"), plant="NOPE",
               status="done"),
            po("4500001", po_line(10, "MT-510", "1", date(2027, 2, 1)), supplier=""),
        ])
    assert [(e.pointer, e.code) for e in refused.value.errors] == [
        ("/orders/2/number", "duplicate"),
        ("/orders/1/status", "invalid_choice"),
        ("/orders/1/plant", "unknown_plant"),
        ("/orders/1/lines/1/line_number", "duplicate"),
        ("/orders/1/lines/1/quantity", "not_positive"),
        ("/orders/1/lines/1/part", "unknown_part"),
        ("/orders/1/lines/2/unit", "unit_mismatch"),
        ("/orders/2/supplier", "required"),
    ]
    assert (PurchaseOrder.history.count(), PurchaseOrderLine.history.count()) == before
    assert lines_of("4500001")[0][2] == Decimal(40)


def test_a_push_costs_a_fixed_number_of_queries(bike, erp, django_assert_num_queries):
    orders = [po(f"45{i:05}", po_line(10, "MT-510", "1", date(2027, 2, 1)),
                 po_line(20, "SC-M8", "8", date(2027, 2, 2))) for i in range(40)]
    # parts, conversions, plants, units (all, aliases, the ERP's codes, those named);
    # savepoint; lock; lines; 2 bulk inserts with their 2 history inserts; savepoint release
    with django_assert_num_queries(14):
        purchase_orders_upsert(system=erp.system, actor=None, reason="t", orders=orders)
    with django_assert_num_queries(11):  # the same again: read, compare, write nothing
        result = purchase_orders_upsert(system=erp.system, actor=None, reason="t",
                                        orders=orders)
    assert len(result.unchanged) == 40


def release_b_and_generate(bike, plants):
    """MT-500 B released (effective 2027-01-15, A superseded) and the bike's mBOMs generated as
    of that date at Berlin only."""
    catalog.revision_release(revision=PartRevision.objects.get(part__number="MT-500", label="B"),
                             actor=None, reason="t")
    bike_a = PartRevision.objects.get(part__number="BK-100", label="A")
    mbom_generate(revision=bike_a, plant=plants["BER"], cause=None, actor=None, reason="t",
                  as_of=date(2027, 1, 15))


def current_mbom(part, label, plant):
    return MBomVersion.objects.get(mbom__revision__part__number=part, mbom__revision__label=label,
                                   mbom__plant__code=plant, is_current=True)


def test_production_orders_resolve_on_the_plant_local_planned_start(eco, bike, plants, erp):
    release_b_and_generate(bike, plants)
    # 2027-01-14 23:30 UTC: already the 15th in Berlin, still the 14th in Charlotte.
    instant = datetime(2027, 1, 14, 23, 30, tzinfo=UTC)
    result = production_orders_upsert(system=erp.system, actor=None, reason="t", orders=[
        mo("1000001", "MT-500", instant, plant="BER"),
        mo("1000002", "MT-500", instant, plant="CLT"),
        mo("1000003", "MT-500", date(2027, 1, 14), plant="BER"),
        mo("1000004", "MT-510", date(2027, 1, 20), plant="BER"),
    ])
    assert len(result.created) == 4
    got = {o.number: (o.resolved_as_of, o.revision.label if o.revision else None,
                      o.mbom_version_id, o.resolution_note)
           for o in ProductionOrder.objects.select_related("revision")}
    assert got == {
        "1000001": (date(2027, 1, 15), "B", current_mbom("MT-500", "B", "BER").pk, ""),
        "1000002": (date(2027, 1, 14), "A", current_mbom("MT-500", "A", "CLT").pk, ""),
        "1000003": (date(2027, 1, 14), "A", current_mbom("MT-500", "A", "BER").pk, ""),
        "1000004": (date(2027, 1, 20), None, None,
                    "No released revision of MT-510 is in effect on 2027-01-20 at BER."),
    }
    # A date without a time means 00:00 at the plant.
    assert ProductionOrder.objects.get(number="1000003").planned_start == datetime(
        2027, 1, 13, 23, 0, tzinfo=UTC)


def test_an_order_without_an_mbom_says_so_and_resolves_again_later(eco, bike, plants, erp):
    catalog.revision_release(revision=PartRevision.objects.get(part__number="MT-500", label="B"),
                             actor=None, reason="t")
    production_orders_upsert(system=erp.system, actor=None, reason="t", orders=[
        mo("1000001", "MT-500", date(2027, 2, 1))])
    order = ProductionOrder.objects.get()
    assert (order.revision.label, order.mbom_version, order.resolution_note) == (
        "B", None, "MT-500 rev B has no mBOM at BER yet.")

    mbom_generate(
        revision=PartRevision.objects.get(part__number="BK-100", label="A"),
        plant=plants["BER"], cause=None, actor=None, reason="t", as_of=date(2027, 1, 15))
    [changed] = production_orders_resolve(orders=[order], actor=None, reason="new mBOMs")
    assert (changed.mbom_version, changed.resolution_note) == (
        current_mbom("MT-500", "B", "BER"), "")
    assert changed.history.first().history_change_reason == "new mBOMs"
    assert production_orders_resolve(orders=[order], actor=None, reason="again") == []


def test_production_order_updates_and_status(bike, erp):
    start = datetime(2027, 1, 20, 6, tzinfo=UTC)
    production_orders_upsert(system=erp.system, actor=None, reason="t", orders=[
        mo("1000001", "BK-100", start, status="planned")])
    result = production_orders_upsert(system=erp.system, actor=None, reason="t", orders=[
        mo("1000001", "BK-100", start, status="released", qty="12")])
    assert [o.number for o in result.updated] == ["1000001"]
    order = ProductionOrder.objects.get()
    assert (order.status, order.quantity, order.revision.label) == ("released", 12, "A")
    production_order_status_set(order=order, status="in_progress", erp_status="REL PCNF",
                                actor=None, reason="ERP confirms")
    order.refresh_from_db()
    assert (order.status, order.erp_status) == ("in_progress", "REL PCNF")
    assert [h.status for h in order.history.all()] == ["in_progress", "released", "planned"]


def test_production_order_problems(bike, erp):
    with pytest.raises(InvalidInput) as refused:
        production_orders_upsert(system=erp.system, actor=None, reason="t", orders=[
            mo("1", "BK-100", datetime(2027, 1, 20, 6), qty="-1"),
            mo("2", "BK-100", datetime(2027, 1, 20, 6, tzinfo=UTC),
               datetime(2027, 1, 19, tzinfo=UTC), plant="XX")])
    assert [(e.pointer, e.code) for e in refused.value.errors] == [
        ("/orders/0/quantity", "not_positive"),
        ("/orders/0/planned_start", "naive_datetime"),
        ("/orders/0/planned_end", "naive_datetime"),
        ("/orders/1/plant", "unknown_plant"),
        ("/orders/1/planned_end", "before_start"),
    ]
    assert not ProductionOrder.objects.exists()


def test_only_an_erp_pushes_orders(bike, plm):
    with pytest.raises(InvalidInput):
        purchase_orders_upsert(system=plm.system, actor=None, reason="t", orders=[])
