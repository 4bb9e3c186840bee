"""A change and a cancellation after sending reach the MES in order behind the original, through
real django-q2 clusters (ORM broker and Redis) and a real HTTP MES that answers slowly: the ERP's
change and cancellation are written while the original is still on the wire, and the MES
applies the ProcessOperationsSchedule, then the Change, then the Cancel, each once."""

from __future__ import annotations

import threading

import pytest

from bench.rig import Reply, wait_for
from connectors.b2mml.json_form import parse_schedule_message_json
from thread.catalog import services as catalog
from thread.flows import services as flows
from thread.orders.models import ProductionOrder, WorkOrder

from ..flows.conftest import broker, clusters, peers  # noqa: F401 (the fault tests' fixtures)
from ..flows.outbox_support import wait_all
from .work_order_support import release, set_status

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Long enough that the held original is still being sent when the change is written.
LONG_SENDS = {"THREAD_OUTBOX_LEASE_SECONDS": "10", "THREAD_OUTBOX_DRAIN_SECONDS": "8"}


class SlowMes:
    """Every answer late; the first ProcessOperationsSchedule held until `go` is set."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.original_arrived = threading.Event()

    def __call__(self, key: str, nth: int, body: dict) -> Reply:
        if "ProcessOperationsSchedule" in body and not self.original_arrived.is_set():
            self.original_arrived.set()
            return Reply(hang=self.go)
        return Reply(delay=0.2)


def test_a_change_and_a_cancel_follow_the_original_through_a_slow_mes(
        shop_floor, broker, clusters, peers):  # noqa: F811
    mes = SlowMes()
    peer = peers(mes)
    catalog.plant_update(plant=shop_floor["plants"]["BER"], work_order_format="json",
                         actor=None, reason="t")
    flows.system_delivery_configure(
        system=shop_floor["mes"].system, actor=None, reason="t", connector="rest",
        base_url=peer.url, connector_options={"paths": {"*": "/in/{topic}"}},
        connect_timeout_seconds=0.5, read_timeout_seconds=5.0, max_attempts=100,
        backoff_base_seconds=0.1, backoff_cap_seconds=0.5)
    erp = shop_floor["erp"]
    # Only the MES delivers here (the ERP's mBOM messages of the fixture stay put).
    flows.system_delivery_configure(system=erp.system, actor=None, reason="t",
                                    delivery_enabled=False)
    release(erp, qty="25")
    cluster = clusters(**LONG_SENDS)
    wait_for(mes.original_arrived.is_set, timeout=20, tick=broker.kick,
             what="the original on the wire")
    release(erp, qty="40")  # the ERP changes the quantity…
    set_status(ProductionOrder.objects.get(), "cancelled")  # …and then cancels the order
    work_order = WorkOrder.objects.get()
    written = list(work_order.outbound_messages.order_by("pk"))
    assert [m.topic for m in written] == ["work_order", "work_order_change", "work_order_cancel"]
    mes.go.set()
    wait_all(broker, [cluster], written)
    assert [next(iter(body)) for body in peer.applied] == [
        "ProcessOperationsSchedule", "ChangeOperationsSchedule", "CancelOperationsSchedule"]
    assert peer.applied_keys == {m.idempotency_key for m in written}  # each applied once
    quantities = [parse_schedule_message_json(body).work_orders[0].quantity
                  for body in peer.applied]
    assert quantities == [25, 40, 40]
    work_order.refresh_from_db()
    assert work_order.status == "cancelled"
