"""Odoo as a plant's ERP, end to end on PostgreSQL: the outbox delivers the plant's mBOM to a local
server that answers as Odoo's JSON-RPC API does (tests/support/odoo_fake.py). The first delivery
creates the products and the BOM with its lines in Odoo; a changed mBOM converges with one write;
a repeated delivery writes nothing; a delivery cut off halfway completes on retry; Odoo's
refusals (a unit it does not have, missing rights) are dead with Odoo's words, its server errors
retried; "test connection" says plainly what is wrong; the drift check reads Odoo's BOM back.
A routing released in Thread becomes the BOM's operations, and the mBOM's lines name theirs.
Odoo's manufacturing and purchase orders come into the mirrors by the poll, twice without
duplicates, their changes after; a failed poll keeps its mark and shows on the flow monitor."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from thread.bom.models import MBomLine
from thread.changes.flags import impact_flags_raise
from thread.changes.impact import change_order_impact
from thread.flows import services as flows
from thread.flows.choices import DriftTrigger
from thread.flows.drift_check import drift_check_run
from thread.flows.models import (
    AttentionItem,
    DeliveryAttempt,
    DriftFinding,
    OutboundMessage,
    PeerObject,
)
from thread.orders.models import ErpPollMark, ProductionOrder, PurchaseOrder
from thread.orders.routings.sending import routing_version_send_again
from thread.orders.routings.services import (
    OperationInput,
    WorkCenterInput,
    routing_push,
    work_centers_upsert,
)
from thread.orders.tasks import poll_erp_orders

from ..support.odoo_fake import OdooFake
from .erp_delivery_support import again, berlin, deliver

KEY = "odoo-test-key"
OPTIONS = {"database": "thread", "login": "thread@example.com", "units": {"pcs": "Units"},
           "plant": "BER"}


@pytest.fixture
def odoo(bike, erp, monkeypatch):
    """The test ERP is an Odoo serving Berlin; the bike's mBOM messages are waiting for it."""
    monkeypatch.setenv("ODOO_API_KEY", KEY)
    with OdooFake(database="thread", login="thread@example.com", api_key=KEY,
                  now=datetime.now(UTC).replace(microsecond=0, tzinfo=None)) as fake:
        erp.system = flows.system_delivery_configure(
            system=erp.system, actor=None, reason="Odoo", connector="odoo", base_url=fake.url,
            credential_name="ODOO_API_KEY", connector_options=OPTIONS,
            connect_timeout_seconds=1, read_timeout_seconds=3)
        yield fake


def odoo_bom(fake) -> tuple[dict, list[tuple[str, float, str, int]]]:
    """Thread's BOM in the fake, and its lines as (product code, quantity, unit, sequence)."""
    products = fake.records("product.product")
    [bom] = [b for b in fake.records("mrp.bom").values()
             if str(b.get("code")).startswith("Thread BER ")
             and products[b["product_id"][0]]["default_code"] == "BK-100"]
    units = fake.records("uom.uom")
    lines = sorted((products[line["product_id"][0]]["default_code"], line["product_qty"],
                    units[line["product_uom_id"][0]]["name"], line["sequence"])
                   for line in fake.records("mrp.bom.line").values()
                   if line["bom_id"][0] == bom["id"])
    return bom, lines


def test_the_first_delivery_creates_products_and_the_bom_and_a_repeat_writes_nothing(odoo, erp):
    message = deliver(berlin(erp))
    assert message.status == "delivered", message.last_error
    bom, lines = odoo_bom(odoo)
    codes = {p["default_code"] for p in odoo.records("product.product").values()}
    assert {"BK-100", "FR-200", "MT-500"} <= codes
    assert [(code, qty, unit) for code, qty, unit, _ in lines] == [
        ("FR-200", 1.0, "Units"), ("MT-500", 1.0, "Units")]  # the document is excluded by rule
    assert bom["code"] == f"Thread BER rev A mBOM v{message.payload['version']}"
    assert bom["type"] == "normal" and bom["product_qty"] == 1.0
    # The ids Odoo assigned, per system, for the next message of the same object.
    ids = dict(PeerObject.objects.filter(system=erp.system).values_list("natural_key",
                                                                         "peer_id"))
    assert ids["BER:BK-100"] == str(bom["id"])
    attempt = DeliveryAttempt.objects.get(message=message)
    assert any("mrp.bom create" in step["url"] for step in attempt.steps)
    assert all(KEY not in str(step) for step in attempt.steps)
    writes = odoo.writes
    repeat = deliver(again(message))
    assert repeat.status == "delivered" and odoo.writes == writes
    assert "0 writes" in DeliveryAttempt.objects.get(message=repeat).request_summary


def test_a_changed_mbom_converges_with_one_write(odoo, erp):
    message = deliver(berlin(erp))
    payload = dict(message.payload)
    lines = [dict(line) for line in payload["lines"]]
    lines[0]["quantity"] = "2"  # FR-200 twice
    payload["lines"] = lines[:1] + lines[2:] if len(lines) > 2 else lines[:1]
    payload["version"] = message.payload["version"] + 1
    writes = odoo.writes
    changed = deliver(again(message, payload))
    assert changed.status == "delivered", changed.last_error
    assert odoo.writes == writes + 1  # header, changed and removed lines in one write
    bom, lines_now = odoo_bom(odoo)
    assert [(code, qty) for code, qty, _, _ in lines_now] == [("FR-200", 2.0)]
    assert bom["code"].endswith(f"v{payload['version']}")


def test_a_delivery_cut_off_halfway_completes_on_retry(odoo, erp):
    odoo.cut_after_writes(1)  # the products are created, the answer is lost
    message = deliver(berlin(erp))
    assert message.status == "retrying"
    message.next_attempt_at = message.created_at
    message.save(update_fields=["next_attempt_at"])
    message = deliver(message)
    assert message.status == "delivered", message.last_error
    codes = [p["default_code"] for p in odoo.records("product.product").values()]
    assert len(codes) == len(set(codes))  # nothing created twice
    boms = [(b["product_id"][1], b["code"].split(" rev ")[0]) for b in
            odoo.records("mrp.bom").values()]
    assert len(boms) == len(set(boms))  # one BOM per product and plant


def test_odoo_refusals_are_dead_with_its_words_and_server_errors_retried(odoo, erp):
    odoo.fault_next(name="odoo.exceptions.ValidationError", message="The quantity to produce "
                    "must be positive!")
    refused = deliver(berlin(erp))
    assert refused.status == "dead"
    assert "ValidationError: The quantity to produce must be positive!" in refused.last_error
    odoo.fault_next(name="psycopg2.errors.SerializationFailure",
                    message="could not serialize access due to concurrent update")
    busy = deliver(again(refused, key="busy"))
    assert busy.status == "retrying" and "SerializationFailure" in busy.last_error
    odoo.fail_next(status=502)
    down = deliver(again(refused, key="down"))
    assert down.status == "retrying"
    odoo.delay_next(5)  # past the system's 3 s read timeout
    slow = deliver(again(refused, key="slow"))
    assert slow.status == "retrying" and "Timeout" in slow.last_error


def test_a_unit_odoo_lacks_or_missing_rights_are_dead_with_the_reason(odoo, erp):
    message = berlin(erp)
    payload = dict(message.payload)
    payload["lines"] = [{**payload["lines"][0], "unit": "drum"}, *payload["lines"][1:]]
    unmapped = deliver(again(message, payload, key="unmapped"))
    assert unmapped.status == "dead"
    assert "Thread's unit 'drum' has no unit of measure at the ERP" in unmapped.last_error
    erp.system = flows.system_delivery_configure(
        system=erp.system, actor=None, reason="a unit Odoo lacks",
        connector_options={**OPTIONS, "units": {"pcs": "Pieces"}})
    unknown = deliver(again(message, key="unknown"))
    assert unknown.status == "dead"
    assert "Odoo has no unit of measure named 'Pieces'" in unknown.last_error
    erp.system = flows.system_delivery_configure(
        system=erp.system, actor=None, reason="back", connector_options=OPTIONS)
    odoo.deny("mrp.bom")  # the user lost the Manufacturing rights
    denied = deliver(again(message, key="denied"))
    assert denied.status == "dead" and "Odoo AccessError: You are not allowed to access " \
        "'Bill of Material' (mrp.bom) records." in denied.last_error


def test_test_connection_says_plainly_what_is_wrong(odoo, erp, monkeypatch):
    report = flows.system_connection_test(system=erp.system, actor=None)
    assert report.ok, report.summary
    assert "connection OK — Odoo 17.0, database 'thread' as 'thread@example.com'" in \
        report.summary
    monkeypatch.setenv("ODOO_API_KEY", "wrong")
    report = flows.system_connection_test(system=erp.system, actor=None)
    assert not report.ok and "refused the login 'thread@example.com'" in report.summary
    monkeypatch.setenv("ODOO_API_KEY", KEY)
    odoo.deny("mrp.bom", "write")
    report = flows.system_connection_test(system=erp.system, actor=None)
    assert not report.ok and "write mrp.bom" in report.summary
    erp.system = flows.system_delivery_configure(
        system=erp.system, actor=None, reason="typo", connector_options={
            **OPTIONS, "database": "nope"})
    report = flows.system_connection_test(system=erp.system, actor=None)
    assert not report.ok and "nope" in report.summary


def test_the_drift_check_reads_odoos_bom_back(odoo, erp):
    message = deliver(berlin(erp))
    bom, _ = odoo_bom(odoo)
    [line] = [line for line in odoo.records("mrp.bom.line").values()
              if line["bom_id"][0] == bom["id"] and odoo.records("product.product")[
                  line["product_id"][0]]["default_code"] == "FR-200"]
    odoo.update("mrp.bom.line", line["id"], product_qty=3.0)  # edited in Odoo by hand
    drift_check_run(system=erp.system, trigger=DriftTrigger.COMMAND)
    findings = DriftFinding.objects.filter(system=erp.system, message=message)
    assert [(f.field, f.thread_value, f.peer_value) for f in findings] == [
        ("product_qty", "1", "3")]
    assert Decimal(1) == Decimal(findings[0].thread_value)


def test_polls_bring_odoos_orders_into_the_mirrors_twice_without_duplicates(odoo, erp):
    bike, drive = odoo.add_product("BK-100", "E-bike"), odoo.add_product("MT-510", "Motor")
    stranger = odoo.add_product("XX-1", "Not in Thread")
    made = odoo.add_production(bike, product_qty=12, state="confirmed",
                               date_start="2027-01-20 06:00:00")
    odoo.add_production(stranger, product_qty=1, state="confirmed")
    odoo.add_purchase(odoo.add_partner("Drivetec"), state="purchase", lines=[
        {"product_id": drive, "product_qty": 40, "date_planned": "2027-01-10 08:00:00"}])
    odoo.add_purchase(odoo.add_partner("Maybe"), state="draft", lines=[(drive, 5)])  # an RFQ
    reports = {r["kind"]: r for r in poll_erp_orders()}
    assert (reports["manufacturing_orders"]["written"], reports["purchase_orders"]["written"],
            reports["manufacturing_orders"]["error"]) == (1, 1, "")
    assert reports["manufacturing_orders"]["skipped"] == ["WH/MO/00002: product XX-1, "
                                                          "state confirmed"]
    order = ProductionOrder.objects.get(system=erp.system)
    name = odoo.records("mrp.production")[made]["name"]
    assert (order.number, order.status, order.erp_status, order.quantity, order.plant.code) == (
        name, "released", "confirmed", Decimal(12), "BER")
    assert order.revision is not None  # resolved as a pushed order is
    purchase = PurchaseOrder.objects.get(system=erp.system)
    [line] = purchase.lines.all()
    assert (purchase.supplier, purchase.status, line.part.number, line.quantity) == (
        "Drivetec", "open", "MT-510", Decimal(40))
    again = {r["kind"]: r["written"] for r in poll_erp_orders()}
    assert again == {"manufacturing_orders": 0, "purchase_orders": 0}
    assert ProductionOrder.objects.filter(system=erp.system).count() == 1
    # Changes in Odoo come with the next poll.
    odoo.advance(60)
    odoo.update("mrp.production", made, state="progress")
    [po_line] = [pk for pk, row in odoo.records("purchase.order.line").items()
                 if row["product_id"][0] == drive and row["product_qty"] == 40]
    odoo.update("purchase.order.line", po_line, qty_received=40)
    changed = {r["kind"]: r["written"] for r in poll_erp_orders()}
    assert changed == {"manufacturing_orders": 1, "purchase_orders": 1}
    order.refresh_from_db()
    purchase.refresh_from_db()
    assert (order.status, purchase.status) == ("in_progress", "closed")


def test_a_failed_poll_keeps_its_mark_and_shows_on_the_flow_monitor(odoo, erp):
    odoo.add_production(odoo.add_product("BK-100", "E-bike"), product_qty=3, state="confirmed")
    poll_erp_orders()
    mark = ErpPollMark.objects.get(system=erp.system, kind="manufacturing_orders")
    odoo.fail_next(status=502, count=2)  # the first request of each kind
    failed = {r["kind"]: r["error"] for r in poll_erp_orders()}
    assert "502" in failed["manufacturing_orders"]
    again = ErpPollMark.objects.get(pk=mark.pk)
    assert again.mark == mark.mark and "502" in again.last_error
    item = AttentionItem.objects.get(kind="erp_poll_failed", about_id=str(mark.pk))
    assert item.state == "open" and "502" in item.reason
    assert all(not r["error"] for r in poll_erp_orders())
    item.refresh_from_db()
    assert item.state == "resolved"


OPERATIONS = [OperationInput(sequence=10, operation_code="KIT", work_center="KIT-1",
                             description="Kitting", run_minutes=Decimal("1.5")),
              OperationInput(sequence=20, operation_code="ASSY", work_center="ASM-1",
                             description="Assembly", run_minutes=Decimal(40))]


def release_routing(system, operations=OPERATIONS):
    """A routing of the bike at Berlin released in Thread (pushed by `system`)."""
    work_centers_upsert(centers=[WorkCenterInput(plant="BER", code="KIT-1", name="Kitting"),
                                 WorkCenterInput(plant="BER", code="ASM-1", name="Assembly")],
                        actor=None, reason="t")
    return routing_push(system=system, part="BK-100", plant="BER", effective_from=None,
                        operations=operations, actor=None, reason="new routing").version


def test_a_released_routing_becomes_the_boms_operations_and_lines_name_theirs(odoo, erp, plm):
    message = deliver(berlin(erp))
    odoo.add_workcenter("Kitting", code="KIT-1")
    odoo.add_workcenter("Assembly line", code="ASSY1")
    erp.system = flows.system_delivery_configure(
        system=erp.system, actor=None, reason="Odoo's codes",
        connector_options={**OPTIONS, "work_centers": {"ASM-1": "ASSY1"}})
    MBomLine.objects.filter(version__mbom__plant__code="BER", version__is_current=True,
                            version__mbom__revision__part__number="BK-100",
                            part__number="FR-200").update(operation="ASSY")
    version = release_routing(plm.system)
    routing = OutboundMessage.objects.get(system=erp.system, topic="routing.released")
    assert routing.payload["line_operations"] == [
        {"part": "FR-200", "position": 10, "operation": "ASSY"}]
    assert routing.ordering_key == message.ordering_key  # after the BOM, on the same key
    routing = deliver(routing)
    assert routing.status == "delivered", routing.last_error
    bom, _ = odoo_bom(odoo)
    centers = {w["id"]: w["code"] for w in odoo.records("mrp.workcenter").values()}
    operations = sorted((op["sequence"], op["name"], centers[op["workcenter_id"][0]],
                         op["time_cycle_manual"])
                        for op in odoo.records("mrp.routing.workcenter").values()
                        if op["bom_id"][0] == bom["id"])
    assert operations == [(10, "KIT Kitting", "KIT-1", 1.5), (20, "ASSY Assembly", "ASSY1", 40.0)]
    assy = next(op["id"] for op in odoo.records("mrp.routing.workcenter").values()
                if op["name"] == "ASSY Assembly")
    frame = next(line for line in odoo.records("mrp.bom.line").values()
                 if line["bom_id"][0] == bom["id"] and line["product_id"][1].startswith(
                     "[FR-200]"))
    assert frame["operation_id"][0] == assy  # the routing's delivery named the line's
    writes = odoo.writes
    repeat = deliver(routing_version_send_again(version=version, actor=None, reason="again"))
    assert repeat.status == "delivered" and odoo.writes == writes
    # The mBOM's line that names ASSY is consumed there in Odoo.
    payload = dict(message.payload)
    payload["lines"] = [{**payload["lines"][0], "operation": "ASSY"}, *payload["lines"][1:]]
    assert deliver(again(message, payload, key="with-operation")).status == "delivered"
    lines = [line for line in odoo.records("mrp.bom.line").values()
             if line["bom_id"][0] == bom["id"]]
    assert sorted(bool(line["operation_id"]) and line["operation_id"][0] == assy
                  for line in lines) == [False, True]


def test_a_routing_is_dead_with_the_work_center_odoo_lacks_and_never_echoed(odoo, erp, plm):
    release_routing(plm.system)
    message = deliver(OutboundMessage.objects.get(system=erp.system, topic="routing.released"))
    assert message.status == "dead"
    assert "Odoo has no work center for 'ASM-1' (code 'ASM-1'), 'KIT-1' (code 'KIT-1')" in \
        message.last_error
    # A routing the plant's ERP pushed itself is not sent back to it.
    routing_push(system=erp.system, part="BK-100", plant="BER", effective_from=None,
                 operations=OPERATIONS[:1], actor=None, reason="from the ERP")
    assert OutboundMessage.objects.filter(topic="routing.released").count() == 1


def test_pulled_orders_are_flagged_by_a_change_as_pushed_ones_are(odoo, erp, eco):
    bike, drive = odoo.add_product("BK-100", "E-bike"), odoo.add_product("MT-510", "Motor")
    odoo.add_production(bike, product_qty=10, state="confirmed",
                        date_start="2027-01-20 05:00:00")
    odoo.add_purchase(odoo.add_partner("Drivetec"), state="purchase", lines=[
        {"product_id": drive, "product_qty": 40, "date_planned": "2027-02-01 08:00:00"}])
    poll_erp_orders()
    flags = impact_flags_raise(change_order=eco, impact=change_order_impact(change_order=eco),
                               actor=None, reason="approval")
    pulled = {(f.production_order.number if f.production_order else f.purchase_order.number,
               f.kind) for f in flags}
    production = ProductionOrder.objects.get(system=erp.system).number
    purchase = PurchaseOrder.objects.get(system=erp.system).number
    assert pulled == {(production, "parent_assembly"), (purchase, "removed_component")}
