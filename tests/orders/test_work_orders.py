"""Work orders built on release (thread.orders.work_orders): the document validates against the
vendored official schema and reads back as the order; each hold reason; a repeated release;
the delivery to a real HTTP MES; the rebuild."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from lxml import etree

from connectors.b2mml.json_form import parse_operations_schedule_json, validate_json
from connectors.b2mml.parse import parse_operations_schedule
from connectors.b2mml.validate import validate_xml
from thread.bom.models import MBomLine
from thread.catalog import services as catalog
from thread.flows.choices import AttentionState, OutboundStatus
from thread.flows.models import AttentionItem, OutboundMessage
from thread.orders.choices import WorkOrderStatus
from thread.orders.models import ProductionOrder, WorkOrder
from thread.orders.routings.services import OperationInput, routing_push
from thread.orders.work_orders.services import work_order_rebuild

from .work_order_support import START, release, set_status

NS = {"b": "http://www.mesa.org/xml/B2MML"}


def holds(work_order):
    return [h["code"] for h in work_order.hold_reasons]


def test_a_released_order_sends_a_schema_valid_work_order_that_reads_back_as_the_order(
        shop_floor, erp):
    release(erp, qty="25")
    work_order = WorkOrder.objects.get()
    order = ProductionOrder.objects.get()
    assert (work_order.status, work_order.hold_reasons) == (WorkOrderStatus.PENDING, [])
    assert (work_order.revision, work_order.mbom_version) == (order.revision, order.mbom_version)
    assert work_order.rule_set_version == order.mbom_version.rule_set_version
    assert work_order.routing_version == shop_floor["routing"]
    document = work_order.document.encode()
    assert validate_xml(document) == []
    [sent] = parse_operations_schedule(document)
    assert (sent.number, sent.production_order, sent.plant, sent.part) == (
        "1000001", "1000001", "BER", "BK-100")
    assert (sent.quantity, sent.unit, sent.revision) == (Decimal(25), "pcs", "A")
    kit, assy = sent.operations
    assert (kit.code, kit.work_center, kit.planned_minutes) == ("KIT", "KIT-1", Decimal("47.5"))
    assert (assy.milestone, assy.instructions, assy.document_reference) == (
        True, "Torque to 5 Nm", "WI-7")
    # Every mBOM line without an operation code is issued at the first operation, per order
    # quantity; the document (reference only) is not issued.
    lines = {line.part.number: line for line in order.mbom_version.lines.select_related("part")}
    issued = {m.part: m.quantity for m in kit.materials}
    assert issued == {number: line.unrounded_quantity * 25 for number, line in lines.items()}
    assert "DOC-1" not in issued
    # The produced part is the last operation's output (the reader folds it back into the
    # work order's part and quantity).
    assert assy.materials == ()
    root = etree.fromstring(document)
    last = root.findall(".//b:SegmentRequirement", NS)[-1]
    assert [(r.findtext("b:MaterialDefinitionID", namespaces=NS),
             r.findtext("b:MaterialUse", namespaces=NS),
             r.findtext("b:Quantity/b:QuantityString", namespaces=NS))
            for r in last.findall("b:MaterialRequirement", NS)] == [("BK-100", "Produced", "25")]
    # Material definitions first, then the work order, on one ordering key.
    definitions, sent_order = work_order.outbound_messages.order_by("pk")
    assert (definitions.topic, sent_order.topic) == ("material_definitions", "work_order")
    assert definitions.ordering_key == sent_order.ordering_key == "work-order:BER:1000001"
    assert sent_order.payload == {"$document": {"media_type": "application/xml",
                                                "text": work_order.document}}
    assert validate_xml(definitions.payload["$document"]["text"].encode()) == []


def test_a_json_plant_gets_b2mml_json_valid_against_the_official_json_schema(shop_floor, erp):
    catalog.plant_update(plant=shop_floor["plants"]["BER"], work_order_format="json",
                         actor=None, reason="t")
    release(erp)
    work_order = WorkOrder.objects.get()
    import json
    data = json.loads(work_order.document)
    assert work_order.media_type == "application/json" and validate_json(data) == []
    [sent] = parse_operations_schedule_json(data)
    assert [op.code for op in sent.operations] == ["KIT", "ASSY"]
    # A JSON MES takes the material data in the work order: one message.
    assert [m.topic for m in work_order.outbound_messages.all()] == ["work_order"]


def test_a_repeated_release_changes_nothing(shop_floor, erp):
    release(erp)
    order = ProductionOrder.objects.get()
    messages = OutboundMessage.objects.count()
    release(erp)  # the same push again
    set_status(order, "released")  # and the status push again
    assert WorkOrder.objects.count() == 1 and OutboundMessage.objects.count() == messages


def test_an_acknowledged_work_order_is_never_re_created(shop_floor, erp):
    release(erp)
    work_order = WorkOrder.objects.get()
    WorkOrder.objects.filter(pk=work_order.pk).update(status=WorkOrderStatus.ACKNOWLEDGED)
    order = ProductionOrder.objects.get()
    set_status(order, "planned")
    set_status(order, "released")
    assert list(WorkOrder.objects.values_list("status", flat=True)) == ["acknowledged"]


def test_no_routing_holds_the_work_order_and_the_erp_push_is_accepted(shop_floor, erp):
    release(erp, number="1000002", plant="CLT")
    work_order = WorkOrder.objects.get()
    assert holds(work_order) == ["no_routing"]
    assert work_order.status == WorkOrderStatus.HELD and work_order.document == ""
    assert not work_order.outbound_messages.exists()
    item = AttentionItem.objects.get()
    assert (item.kind, item.state, item.system) == ("work_order_held", "open",
                                                     shop_floor["mes"].system)
    assert "No released routing of BK-100 at CLT" in item.reason
    assert item.admin_url == f"/admin/orders/workorder/{work_order.pk}/change/"


def test_a_routing_effective_after_the_planned_start_does_not_apply(shop_floor, erp):
    routing_push(system=erp.system, part="BK-100", plant="CLT", effective_from=date(2027, 2, 1),
                 operations=[OperationInput(sequence=10, operation_code="FIN",
                                            work_center="FIN-A")], actor=None, reason="t")
    release(erp, plant="CLT")
    assert holds(WorkOrder.objects.get()) == ["no_routing"]


def test_an_operation_code_the_routing_lacks_holds_it(shop_floor, erp):
    release(erp, status="planned")
    order = ProductionOrder.objects.get()
    MBomLine.objects.filter(version=order.mbom_version, part__number="MT-500").update(
        operation="0090-FLASH")
    set_status(order, "released")
    work_order = WorkOrder.objects.get()
    assert holds(work_order) == ["unknown_operation"]
    assert "'0090-FLASH'" in work_order.hold_reasons[0]["detail"]


def test_no_mbom_version_and_no_mes_are_hold_reasons(shop_floor, erp, units):
    plant = shop_floor["plants"]["CLT"]
    plant.mes_system = None
    plant.save()
    catalog.part_create(number="ZZ-1", name="Unknown", base_unit=units["pcs"], actor=None,
                        reason="t")
    from thread.orders.services import production_orders_upsert

    from .conftest import mo
    production_orders_upsert(system=erp.system, orders=[mo("1000009", "ZZ-1", START,
                                                           plant="CLT")],
                             actor=None, reason="t")
    work_order = WorkOrder.objects.get()
    assert holds(work_order) == ["no_mes", "no_mbom_version", "no_routing"]
    assert work_order.mes_system is None


def test_fixing_the_cause_and_rebuilding_sends_it(shop_floor, erp):
    release(erp, plant="CLT")
    work_order = WorkOrder.objects.get()
    routing_push(system=erp.system, part="BK-100", plant="CLT", effective_from=date(2026, 1, 1),
                 operations=[OperationInput(sequence=10, operation_code="FIN",
                                            work_center="FIN-A")], actor=None, reason="t")
    rebuilt = work_order_rebuild(work_order=work_order, actor=None, reason="routing released")
    assert (rebuilt.status, rebuilt.hold_reasons, rebuilt.build_count) == ("pending", [], 2)
    assert validate_xml(rebuilt.document.encode()) == []
    item = AttentionItem.objects.get()
    assert item.state == AttentionState.RESOLVED and "routing released" in item.resolution
    # A sent work order is never rebuilt.
    from thread.errors import StateConflict
    with pytest.raises(StateConflict):
        work_order_rebuild(work_order=rebuilt, actor=None, reason="again")


def test_a_document_that_fails_the_schema_holds_it(shop_floor, erp, monkeypatch):
    from thread.orders.work_orders import documents
    monkeypatch.setattr(documents, "validate_xml", lambda raw: ["OperationsRequest: broken"])
    release(erp)
    work_order = WorkOrder.objects.get()
    assert holds(work_order) == ["schema_invalid"]
    assert not OutboundMessage.objects.filter(system=shop_floor["mes"].system).exists()


def work_order_messages():
    return list(WorkOrder.objects.get().outbound_messages.values_list("pk", flat=True))


@pytest.mark.django_db(transaction=True)
def test_the_work_order_reaches_a_real_http_mes_and_becomes_sent(shop_floor, erp, httpserver):
    from thread.flows import services as flows
    from thread.flows.delivery import drain
    received = []

    def handler(request):
        from werkzeug import Response
        received.append((request.headers["Content-Type"], request.get_data()))
        return Response("{}", status=201, content_type="application/json")

    httpserver.expect_request("/mes/work_order", method="POST").respond_with_handler(handler)
    httpserver.expect_request("/mes/material_definitions", method="POST").respond_with_handler(
        handler)
    flows.system_delivery_configure(system=shop_floor["mes"].system, actor=None, reason="t",
                                    connector="rest", base_url=httpserver.url_for("/mes/"),
                                    connector_options={"paths": {"*": "{topic}"}},
                                    connect_timeout_seconds=2.0, read_timeout_seconds=5.0)
    release(erp)
    drain(prefer_ids=work_order_messages(), budget_seconds=20)
    work_order = WorkOrder.objects.get()
    assert [m.status for m in work_order.outbound_messages.order_by("pk")] == [
        OutboundStatus.DELIVERED, OutboundStatus.DELIVERED]
    assert work_order.status == WorkOrderStatus.SENT and work_order.sent_at is not None
    content_type, body = received[-1]
    assert content_type == "application/xml" and body == work_order.document.encode()
    assert parse_operations_schedule(body)[0].number == "1000001"
    assert work_order.history.first().history_change_reason == "Delivered to the MES"
