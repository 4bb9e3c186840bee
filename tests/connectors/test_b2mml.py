"""B2MML XML: every document Thread writes validates against the vendored official XSD, carries
each field where the mapping says, and reads back to exactly what was written."""

from __future__ import annotations

import threading
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from lxml import etree

from connectors.b2mml import validate
from connectors.b2mml.document import Material, MaterialUse, ScheduleVerb
from connectors.b2mml.errors import B2mmlInvalid, B2mmlRejected
from connectors.b2mml.json_form import (
    operations_schedule_json,
    parse_operations_schedule_json,
    parse_schedule_message_json,
    validate_json,
)
from connectors.b2mml.parse import (
    ScheduleMessage,
    parse_acknowledgement,
    parse_envelope,
    parse_operations_schedule,
    parse_schedule_message,
)
from connectors.b2mml.xml import (
    AckAction,
    acknowledgement_xml,
    material_definitions_xml,
    operations_schedule_xml,
    require_valid,
    validate_xml,
)

from .b2mml_data import DEFINITIONS, ENVELOPE, big_order, operation, work_order, work_orders

NS = {"b": "http://www.mesa.org/xml/B2MML"}


def render(*documents, schedule_id: str = "S-1") -> bytes:
    return operations_schedule_xml(list(documents), envelope=ENVELOPE, schedule_id=schedule_id)


def texts(document: bytes, xpath: str) -> list[str]:
    return [element.text or "" for element in etree.fromstring(document).xpath(xpath, namespaces=NS)]


def ack(*request_ids: str, **changes) -> bytes:
    fields = dict(envelope=ENVELOPE, original_bod_id="WO-1001-v1", original_created_at=ENVELOPE.created_at)
    fields.update(changes)
    return acknowledgement_xml(list(request_ids), **fields)


VARIANTS = {
    "one operation": [work_order(steps=1)],
    "many operations": [work_order(steps=12, components=3)],
    "queue and move absent": [work_order(operations=(operation(10, queue=False), operation(20)))],
    "no instructions, no materials": [work_order(operations=(
        operation(10, instructions="", document_reference="", components=0, description=""),))],
    "several operations requests": [work_order("WO-1"), work_order("WO-2", steps=1),
                                    work_order("WO-3", lineage={})],
}


@pytest.mark.parametrize("documents", VARIANTS.values(), ids=VARIANTS.keys())
def test_every_variant_is_valid_and_reads_back_exactly(documents):
    document = render(*documents)
    assert validate_xml(document) == []
    assert parse_operations_schedule(document) == documents


def test_material_definitions_and_acknowledgements_are_valid():
    definitions = material_definitions_xml(DEFINITIONS, envelope=ENVELOPE)
    assert validate_xml(definitions) == []
    assert texts(definitions, "//b:MaterialDefinition/b:ID") == ["C-10-1", "C-10-2"]
    assert texts(definitions, "//b:MaterialDefinitionProperty[b:ID='BaseUnitOfMeasure']//b:ValueString") == [
        "pcs", "kg"]
    for document in (ack("WO-1"), ack("WO-1", "WO-2", action=AckAction.REJECTED, reason="unknown part")):
        assert validate_xml(document) == []


def test_fields_land_where_the_mapping_says():
    order = work_order(operations=(operation(10, queue=False, instructions=""), operation(20)))
    document = render(order)
    request = "//b:OperationsRequest"
    assert etree.fromstring(document).get("releaseID") == "7.01"
    assert texts(document, "//b:ApplicationArea/*[self::b:CreationDateTime or self::b:BODID]") == [
        "2026-11-25T07:30:00+00:00", "WO-1001-v1"]
    assert texts(document, f"{request}/b:ID") == ["WO-1001"]
    assert texts(document, f"{request}/b:Description") == [
        "Production order: 4711", "Lineage revision: BK-100 B", "Lineage mbom_version: 12",
        "Lineage rule_set_version: BER rules v3", "Lineage routing_version: BK-100 @ BER v2"]
    assert texts(document, f"{request}/b:HierarchyScope/*") == ["BER", "Site"]
    segments = f"{request}/b:SegmentRequirement"
    assert texts(document, f"{segments}/b:ID") == ["10", "20"]
    assert texts(document, f"{segments}/b:ProcessSegmentID") == ["OP10", "OP20"]
    assert texts(document, f"{segments}/b:Duration") == ["PT2H45S", "PT2H45S"]  # 120.75 minutes
    assert texts(document, f"{segments}/b:EquipmentRequirement/b:EquipmentID") == ["WC-10", "WC-20"]
    first = f"{segments}[1]/b:SegmentParameter"
    assert texts(document, f"{first}/b:ID") == ["SetupTime", "RunTimePerUnit", "Milestone", "ReportsQuantity",
                                                "DocumentReference"]  # no queue, move, instructions
    assert texts(document, f"{first}[b:ID='SetupTime']/b:Value/*") == ["15.5", "decimal", "min"]
    assert texts(document, f"{segments}[2]/b:SegmentParameter[b:ID='QueueTime']//b:ValueString") == ["30"]
    last = f"{segments}[2]/b:MaterialRequirement"
    assert texts(document, f"{last}/b:MaterialUse") == ["Consumed", "Consumed", "Produced"]
    assert texts(document, f"{last}/b:Quantity/b:QuantityString") == ["1.5", "3", "25"]
    assert texts(document, f"{last}[3]/*[not(self::b:Quantity or self::b:MaterialRequirementProperty)]") == [
        "20.3", "BK-100", "Bike frame", "Produced"]
    revision = f"{last}[3]/b:MaterialRequirementProperty[b:ID='Revision']//b:ValueString"
    assert texts(document, revision) == ["B"]
    assert texts(document, f"{segments}[1]/b:MaterialRequirement/b:MaterialUse") == ["Consumed", "Consumed"]


@pytest.mark.parametrize(("value", "written"), [
    ("2.500", "2.5"), ("1E+2", "100"), ("0.000", "0"), ("-0", "0"), ("1E-7", "0.0000001"),
    ("123456789012345678901234567890.123", "123456789012345678901234567890.123")])
def test_decimals_are_written_exactly_without_floats_or_exponents(value, written):
    component = Material(part="C-1", description="", quantity=Decimal(value), unit="kg")
    order = work_order(operations=(operation(10, materials=(component,)),))
    document = render(order)
    assert texts(document, "//b:MaterialRequirement[1]/b:Quantity/b:QuantityString") == [written]
    assert parse_operations_schedule(document) == [order]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(work_orders)
def test_any_work_order_is_valid_and_round_trips(order):
    document = render(order)
    assert validate_xml(document) == []
    assert parse_operations_schedule(document) == [order]


@pytest.mark.parametrize(("order", "message"), [
    (work_order(operations=()), "no operations"),
    (work_order(planned_start=datetime(2026, 11, 25, 8)), "no time zone"),
    (work_order(operations=(operation(10, planned_minutes=Decimal(-1)),)), "has no meaning"),
    (work_order(operations=(operation(-10),)), "negative"),
    (work_order(quantity=Decimal("NaN")), "no xs:decimal form"),
    (work_order(operations=(operation(10, materials=(Material(
        "BK-100", "Bike frame", Decimal(25), "pcs", use=MaterialUse.PRODUCED),)),)), "adds it"),
    (work_order(lineage={"a: b": "c"}), "may not contain"),
    (work_order(plant="BER\x00"), "XML compatible"),
])
def test_data_b2mml_cannot_carry_is_refused_with_the_reason(order, message):
    with pytest.raises(ValueError, match=message):
        render(order)


def test_nothing_to_send_is_refused():
    with pytest.raises(ValueError):
        operations_schedule_xml([], envelope=ENVELOPE, schedule_id="S")
    with pytest.raises(ValueError):
        material_definitions_xml([], envelope=ENVELOPE)
    with pytest.raises(ValueError):
        ack()


def test_an_invalid_document_gets_readable_problems_with_paths():
    root = etree.fromstring(render(work_order()))
    root.find(".//b:EquipmentElementLevel", NS).text = "Plant"
    segment = root.find(".//b:SegmentRequirement[2]", NS)
    segment.remove(segment.find("b:ProcessSegmentID", NS))
    problems = validate_xml(etree.tostring(root))
    assert len(problems) == 2
    assert problems[0].startswith("/ProcessOperationsSchedule/DataArea/OperationsSchedule/OperationsRequest/"
                                  "HierarchyScope/EquipmentElementLevel: ")
    assert "'Plant' is not an element of the set" in problems[0]
    assert problems[1] == ("/ProcessOperationsSchedule/DataArea/OperationsSchedule/OperationsRequest/"
                           "SegmentRequirement[2]/Duration: Element 'Duration': This element is not "
                           "expected. Expected is one of ( HierarchyScope, OperationsType, "
                           "ProcessSegmentID ).")
    assert not any("{http" in problem for problem in problems)
    with pytest.raises(B2mmlInvalid) as caught:
        require_valid(etree.tostring(root))
    assert caught.value.problems == problems
    with pytest.raises(B2mmlInvalid):
        parse_operations_schedule(etree.tostring(root))


def test_values_the_schema_leaves_open_are_checked_when_read():
    def changed(xpath: str, value: str) -> bytes:
        root = etree.fromstring(render(work_order()))
        root.xpath(xpath, namespaces=NS)[0].text = value
        return etree.tostring(root)

    cases = [
        ("//b:SegmentRequirement[2]/b:MaterialRequirement[2]/b:Quantity/b:QuantityString", "2,5", "bad_value",
         "/SegmentRequirement[2]/MaterialRequirement[2]/Quantity/QuantityString"),
        ("//b:SegmentRequirement[1]/b:ID", "ten", "bad_value", "/SegmentRequirement[1]"),
        ("//b:SegmentRequirement[1]/b:MaterialRequirement[1]/b:MaterialUse", "Consumable", "bad_value",
         "/SegmentRequirement[1]/MaterialRequirement[1]"),
        ("//b:SegmentRequirement[3]/b:MaterialRequirement[3]/b:MaterialUse", "Consumed", "missing_element",
         "/SegmentRequirement[3]"),
        ("//b:SegmentRequirement[1]/b:SegmentParameter[1]/b:ID", "Setup", "missing_element",
         "/SegmentRequirement[1]"),
    ]
    for xpath, value, code, path in cases:
        document = changed(xpath, value)
        assert validate_xml(document) == []  # valid B2MML, but not something Thread can read
        with pytest.raises(B2mmlRejected) as caught:
            parse_operations_schedule(document)
        assert caught.value.code == code
        assert caught.value.path.endswith(path), caught.value.path


def test_an_acknowledgement_reads_back():
    document = ack("WO-1", "WO-2", schedule_id="S-1")
    assert parse_acknowledgement(document) == parse_acknowledgement(document)
    acknowledgement = parse_acknowledgement(document)
    assert acknowledgement.request_ids == ("WO-1", "WO-2")
    assert acknowledgement.original_bod_id == "WO-1001-v1"
    assert acknowledgement.actions == ("Accepted",)
    assert acknowledgement.accepted
    assert acknowledgement.envelope == ENVELOPE

    rejected = parse_acknowledgement(ack("WO-1", action=AckAction.REJECTED, reason="unknown part C-9"))
    assert not rejected.accepted
    assert rejected.reasons == ("unknown part C-9",)


def test_an_acknowledgement_without_response_criteria_means_received():
    root = etree.fromstring(ack("WO-1"))
    criteria = root.find(".//b:ResponseCriteria", NS)
    criteria.getparent().remove(criteria)
    acknowledgement = parse_acknowledgement(etree.tostring(root))
    assert acknowledgement.actions == ()
    assert acknowledgement.accepted


def test_the_sandbox_mes_round_trip_names_the_original_bod():
    sent = render(work_order("WO-1"), work_order("WO-2"))
    original = parse_envelope(sent)
    answer = acknowledgement_xml([d.number for d in parse_operations_schedule(sent)], envelope=ENVELOPE,
                                 original_bod_id=original.bod_id, original_created_at=original.created_at)
    acknowledgement = parse_acknowledgement(answer)
    assert acknowledgement.original_bod_id == ENVELOPE.bod_id
    assert acknowledgement.request_ids == ("WO-1", "WO-2")


def test_an_invalid_acknowledgement_and_the_wrong_document_are_refused():
    root = etree.fromstring(ack("WO-1"))
    root.find(".//b:ResponseExpression", NS).attrib.pop("actionCode")
    with pytest.raises(B2mmlInvalid) as caught:
        parse_acknowledgement(etree.tostring(root))
    assert "actionCode" in caught.value.problems[0]
    with pytest.raises(B2mmlRejected) as wrong:
        parse_acknowledgement(render(work_order()))
    assert wrong.value.code == "unexpected_root"


def test_the_schema_is_compiled_once_per_process(monkeypatch):
    compiled = []
    real = etree.XMLSchema

    def counting(*args, **kwargs):
        compiled.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(validate.etree, "XMLSchema", counting)
    monkeypatch.setattr(validate, "_schema", None)
    schemas = []
    threads = [threading.Thread(target=lambda: schemas.append(validate.xml_schema())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert validate_xml(render(work_order())) == []
    assert validate_xml(render(work_order(steps=1))) == []
    assert len(compiled) == 1
    assert all(schema is validate.xml_schema() for schema in schemas)


def test_a_big_order_is_valid_and_reads_back():
    order = big_order()
    document = render(order)
    assert validate_xml(document) == []
    assert parse_operations_schedule(document) == [order]


@pytest.mark.parametrize("verb", list(ScheduleVerb))
def test_change_and_cancel_are_valid_and_read_back_with_their_verb(verb):
    """An MES gets a changed work order as ChangeOperationsSchedule and a withdrawn one as
    CancelOperationsSchedule: both valid against the official schema and read back exactly,
    in XML and in B2MML-JSON."""
    documents = [work_order("WO-1"), work_order("WO-2", steps=1)]
    raw = operations_schedule_xml(documents, envelope=ENVELOPE, schedule_id="S-1", verb=verb)
    assert validate.validate_xml(raw) == []
    assert etree.QName(etree.fromstring(raw)).localname == f"{verb}OperationsSchedule"
    assert len(etree.fromstring(raw).xpath(f"//b:DataArea/b:{verb}", namespaces=NS)) == 1
    assert parse_schedule_message(raw) == ScheduleMessage(verb, documents)
    as_json = operations_schedule_json(documents, envelope=ENVELOPE, schedule_id="S-1", verb=verb)
    assert validate_json(as_json) == []
    assert parse_schedule_message_json(as_json) == ScheduleMessage(verb, documents)


def test_a_process_reader_refuses_a_change_or_cancel():
    """The readers of new work orders (the shift batch re-reads the documents it built) never
    take a change or a cancellation for one."""
    change = operations_schedule_xml([work_order()], envelope=ENVELOPE, schedule_id="S-1",
                                     verb=ScheduleVerb.CHANGE)
    with pytest.raises(B2mmlRejected, match="expected ProcessOperationsSchedule"):
        parse_operations_schedule(change)
    cancel = operations_schedule_json([work_order()], envelope=ENVELOPE, schedule_id="S-1",
                                      verb=ScheduleVerb.CANCEL)
    with pytest.raises(B2mmlRejected, match="expected ProcessOperationsSchedule"):
        parse_operations_schedule_json(cancel)
    with pytest.raises(B2mmlRejected, match="expected one of"):
        parse_schedule_message(ack("4711"))
