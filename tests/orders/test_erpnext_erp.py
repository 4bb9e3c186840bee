"""ERPNext as a plant's ERP, end to end on PostgreSQL: the outbox delivers the plant's mBOM to a
local server that answers as Frappe's resource API does (tests/support/erpnext_fake.py). The first
delivery creates the items and a submitted default BOM; a changed mBOM makes a new default BOM and
keeps the old one (a submitted BOM never changes); an unchanged one writes nothing; a delivery cut
off halfway completes on retry; a permission error is dead with a readable reason, a 5xx retried;
a routing becomes a new default BOM with operations; "test connection" says what is wrong; work
orders and purchase orders come into the mirrors by the poll, twice without duplicates."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from thread.bom.models import MBomLine
from thread.flows import services as flows
from thread.flows.models import DeliveryAttempt, OutboundMessage
from thread.orders.models import ProductionOrder, PurchaseOrder
from thread.orders.tasks import poll_erp_orders

from ..support.erpnext_fake import ErpNextFake
from .erp_delivery_support import again, berlin, deliver
from .test_odoo_erp import release_routing

OPTIONS = {"item_group": "Products", "plant": "BER", "time_zone": "Europe/Berlin",
           "work_centers": {"KIT-1": "Kitting", "ASM-1": "Assembly Line"}}


@pytest.fixture
def erpnext(bike, erp, monkeypatch):
    """The test ERP is an ERPNext serving Berlin; the bike's mBOM messages are waiting for it."""
    monkeypatch.setenv("ERPNEXT_TOKEN", "k:s")
    with ErpNextFake(api_key="k", api_secret="s", now=datetime.now(ZoneInfo("Europe/Berlin"))
                     .replace(tzinfo=None)) as fake:
        erp.system = flows.system_delivery_configure(
            system=erp.system, actor=None, reason="ERPNext", connector="erpnext",
            base_url=fake.url, credential_name="ERPNEXT_TOKEN", connector_options=OPTIONS,
            connect_timeout_seconds=1, read_timeout_seconds=3)
        yield fake


def boms(fake, item="BK-100") -> list[dict]:
    return sorted((b for b in fake.records("BOM").values() if b["item"] == item),
                  key=lambda b: b["name"])


def test_the_first_delivery_creates_items_and_a_submitted_default_bom(erpnext, erp):
    message = deliver(berlin(erp))
    assert message.status == "delivered", message.last_error
    [bom] = boms(erpnext)
    assert (bom["docstatus"], bom["is_default"], bom["is_active"]) == (1, 1, 1)
    assert sorted((row["item_code"], row["qty"], row["uom"]) for row in bom["items"]) == [
        ("FR-200", 1.0, "Nos"), ("MT-500", 1.0, "Nos")]
    assert {"BK-100", "FR-200", "MT-500"} <= set(erpnext.records("Item"))
    writes = erpnext.writes
    repeat = deliver(again(message))
    assert repeat.status == "delivered" and erpnext.writes == writes
    assert "unchanged" in DeliveryAttempt.objects.get(message=repeat).request_summary


def test_a_changed_mbom_becomes_a_new_default_bom_and_the_old_one_stays(erpnext, erp):
    message = deliver(berlin(erp))
    payload = dict(message.payload)
    payload["lines"] = [{**payload["lines"][0], "quantity": "2"}, *payload["lines"][1:]]
    changed = deliver(again(message, payload, key="changed"))
    assert changed.status == "delivered", changed.last_error
    old, new = boms(erpnext)
    assert (old["docstatus"], old["is_default"]) == (1, 0)  # ERPNext's history
    assert (new["docstatus"], new["is_default"]) == (1, 1)
    assert sorted(row["qty"] for row in new["items"]) == [1.0, 2.0]


def test_a_delivery_cut_off_halfway_completes_on_retry(erpnext, erp):
    erpnext.cut_after_writes(1)  # an item is created, the answer lost
    message = deliver(berlin(erp))
    assert message.status == "retrying"
    message.next_attempt_at = message.created_at
    message.save(update_fields=["next_attempt_at"])
    assert deliver(message).status == "delivered"
    assert len([b for b in boms(erpnext) if b["is_default"]]) == 1


def test_permission_errors_are_dead_with_a_reason_and_5xx_retried(erpnext, erp):
    erpnext.deny("BOM", "create")
    denied = deliver(berlin(erp))
    assert denied.status == "dead"
    assert "PermissionError" in denied.last_error and "give ERPNext's user the role" in \
        denied.last_error
    erpnext.fail_next(status=502)
    down = deliver(again(denied, key="down"))
    assert down.status == "retrying"


def test_a_routing_becomes_a_new_default_bom_with_operations(erpnext, erp, plm):
    deliver(berlin(erp))
    erpnext.add_workstation("Kitting")
    erpnext.add_workstation("Assembly Line")
    MBomLine.objects.filter(version__mbom__plant__code="BER", version__is_current=True,
                            version__mbom__revision__part__number="BK-100",
                            part__number="FR-200").update(operation="ASSY")
    release_routing(plm.system)
    routing = deliver(OutboundMessage.objects.get(system=erp.system, topic="routing.released"))
    assert routing.status == "delivered", routing.last_error
    old, new = boms(erpnext)
    assert (old["is_default"], new["is_default"], new["with_operations"]) == (0, 1, 1)
    assert [(op["operation"], op["workstation"], op["time_in_mins"]) for op in
            new["operations"]] == [("KIT", "Kitting", 1.5), ("ASSY", "Assembly Line", 40.0)]
    assert sorted((row["item_code"], row.get("operation") or "") for row in new["items"]) == [
        ("FR-200", "ASSY"), ("MT-500", "")]  # where the mBOM consumes it


def test_test_connection_says_plainly_what_is_wrong(erpnext, erp, monkeypatch):
    report = flows.system_connection_test(system=erp.system, actor=None)
    assert report.ok and "connection OK — ERPNext as 'thread@example.com'" in report.summary
    monkeypatch.setenv("ERPNEXT_TOKEN", "k:wrong")
    report = flows.system_connection_test(system=erp.system, actor=None)
    assert not report.ok and "AuthenticationError" in report.summary


def test_polls_bring_work_orders_and_purchase_orders_in_twice_without_duplicates(erpnext, erp):
    deliver(berlin(erp))  # the mBOMs created the items (MT-510 with the drive's)
    work_order = erpnext.add_work_order("BK-100", 12, "2027-01-20 06:00:00")
    purchase = erpnext.add_purchase_order(erpnext.add_supplier("Drivetec"),
                                          items=[("MT-510", 40)], schedule_date="2027-01-10")
    reports = {r["kind"]: r for r in poll_erp_orders()}
    assert (reports["manufacturing_orders"]["written"], reports["purchase_orders"]["written"],
            reports["purchase_orders"]["error"]) == (1, 1, "")
    order = ProductionOrder.objects.get(system=erp.system)
    assert (order.number, order.status, order.quantity, order.plant.code) == (
        work_order, "released", Decimal(12), "BER")
    assert order.planned_start == datetime(2027, 1, 20, 5, tzinfo=UTC)  # 06:00 at the site
    mirror = PurchaseOrder.objects.get(system=erp.system)
    [line] = mirror.lines.all()
    assert (mirror.number, mirror.supplier, line.part.number, line.quantity) == (
        purchase, "Drivetec", "MT-510", Decimal(40))
    assert {r["kind"]: r["written"] for r in poll_erp_orders()} == {
        "manufacturing_orders": 0, "purchase_orders": 0}
    erpnext.advance(60)
    erpnext.update("Work Order", work_order, status="In Process")
    assert {r["kind"]: r["written"] for r in poll_erp_orders()}["manufacturing_orders"] == 1
    order.refresh_from_db()
    assert order.status == "in_progress"
