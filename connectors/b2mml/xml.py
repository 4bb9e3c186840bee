"""Work orders as B2MML V0701 XML: the ProcessOperationsSchedule an MES takes (and the Change- and
CancelOperationsSchedule that follow it when the ERP changes or cancels the order), the
ProcessMaterialDefinition for parts it has not seen yet, and the AcknowledgeOperationsSchedule it
answers with (the sandbox MES and the tests write those). Every document validates against the
vendored official schema (`validate.py`); `parse.py` reads them back.

Where each field goes (paths below OperationsSchedule/OperationsRequest; SR = SegmentRequirement,
MR = MaterialRequirement). B2MML has no element for some of Thread's data; those travel as the
parameters and properties B2MML provides for exactly that, or as labelled Descriptions:

    ======================================  ====================================================
    Thread                                  B2MML
    ======================================  ====================================================
    Envelope.sender / bod_id / created_at   ApplicationArea/Sender/LogicalID, BODID,
                                            CreationDateTime; releaseID="7.01" on the root
    schedule_id                             OperationsSchedule/ID (one schedule, one
                                            OperationsRequest per document, in order)
    number                                  ID
    production_order                        Description "Production order: 4711"
    lineage {key: value}                    Description "Lineage key: value", one per entry
    planned_start / planned_end             StartTime / EndTime; also each SR's
                                            EarliestStartTime / LatestEndTime (its bounds)
    plant                                   HierarchyScope/EquipmentID, EquipmentElementLevel "Site"
    (constant)                              OperationsType "Production"
    part, revision, quantity, unit,         last SR: a final MR with MaterialUse "Produced",
    part_description                        MaterialDefinitionID, Quantity, Description,
                                            MaterialRequirementProperty "Revision"
    Operation.sequence                      SR/ID ("10"); document order is kept as written
    Operation.code                          SR/ProcessSegmentID and SR/OperationsSegmentID
    (part)                                  SR/OperationsDefinitionID (required by B2MML)
    Operation.description                   SR/Description (absent when blank)
    Operation.planned_minutes               SR/Duration, xs:duration ("PT1H15M")
    Operation.work_center                   SR/EquipmentRequirement/EquipmentID,
                                            EquipmentLevel "WorkCenter"
    setup / run per unit / queue / move     SR/SegmentParameter SetupTime, RunTimePerUnit,
      minutes                               QueueTime, MoveTime: Value/ValueString, DataType
                                            "decimal", UnitOfMeasure "min" (queue, move: absent
                                            when None)
    milestone / reports_quantity            SegmentParameter Milestone / ReportsQuantity, "boolean"
    instructions / document_reference       SegmentParameter WorkInstructions / DocumentReference,
                                            "string" (absent when blank)
    Material (each, in order)               SR/MR: ID "<sequence>.<n>", MaterialDefinitionID,
                                            Description, MaterialUse, Quantity/QuantityString +
                                            DataType "decimal" + UnitOfMeasure,
                                            MaterialRequirementProperty "Revision" (when set)
    MaterialDefinition part / description   ProcessMaterialDefinition: MaterialDefinition/ID,
      / unit                                Description, MaterialDefinitionProperty
                                            "BaseUnitOfMeasure"
    acknowledgement: request_ids            AcknowledgeOperationsSchedule: OperationsSchedule/
                                            OperationsRequest/ID (one each)
      original_bod_id / original_created_at Acknowledge/OriginalApplicationArea/BODID,
                                            CreationDateTime
      action / reason                       Acknowledge/ResponseCriteria/ResponseExpression
                                            @actionCode, ChangeStatus/Description
    ======================================  ====================================================

`Operation.materials` are the components (or any other material the operation uses); the renderer
adds the work order's own produced part to the last operation, so it must not be among them.
Decimals, durations and times are written as `values.py` describes; that normalisation is what
makes the round trip exact.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from datetime import datetime

from lxml import etree

from .document import (
    Envelope,
    Material,
    MaterialDefinition,
    MaterialUse,
    Operation,
    ScheduleVerb,
    WorkOrderDocument,
)
from .errors import B2mmlError, B2mmlInvalid, B2mmlRejected
from .parse import (
    Acknowledgement,
    parse_acknowledgement,
    parse_envelope,
    parse_operations_schedule,
    parse_schedule_message,
)
from .safe import parse_xml
from .validate import require_valid, validate_xml
from .values import (
    BASE_UNIT,
    DOCUMENT_REFERENCE,
    LINEAGE_PREFIX,
    LINEAGE_SEPARATOR,
    MILESTONE,
    MINUTE_UNIT,
    MOVE_TIME,
    NS,
    PRODUCTION_ORDER_PREFIX,
    QUEUE_TIME,
    RELEASE_ID,
    REPORTS_QUANTITY,
    REVISION,
    RUN_TIME_PER_UNIT,
    SETUP_TIME,
    WORK_INSTRUCTIONS,
    datetime_text,
    decimal_text,
    duration_text,
    flag_text,
)

# The XML side of the package in one place: the renderers here, and the validator, the safe parser,
# the readers and the errors re-exported from their modules.
__all__ = ["AckAction", "Acknowledgement", "B2mmlError", "B2mmlInvalid", "B2mmlRejected",
           "acknowledgement_xml", "material_definitions_xml", "operations_schedule_tree",
           "operations_schedule_xml", "parse_acknowledgement", "parse_envelope", "parse_operations_schedule",
           "parse_schedule_message", "parse_xml", "require_valid", "validate_xml"]


class AckAction(enum.StrEnum):
    """The actionCode of an Acknowledge's ResponseExpression (B2MML TransActionCodeType)."""

    ACCEPTED = "Accepted"
    MODIFIED = "Modified"
    REJECTED = "Rejected"


def _add(parent: etree._Element, tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{NS}}}{tag}", attrib)
    if text is not None:
        element.text = text
    return element


def _bod(verb_noun: str, verb: str,
         envelope: Envelope) -> tuple[etree._Element, etree._Element, etree._Element]:
    """The root of a BOD with its ApplicationArea, its DataArea and the DataArea's verb."""
    root = etree.Element(f"{{{NS}}}{verb_noun}", {"releaseID": RELEASE_ID}, nsmap={None: NS})
    _application_area(_add(root, "ApplicationArea"), sender=envelope.sender, bod_id=envelope.bod_id,
                      created_at=envelope.created_at)
    data_area = _add(root, "DataArea")
    return root, data_area, _add(data_area, verb)


def _application_area(area: etree._Element, *, sender: str, bod_id: str, created_at: datetime) -> None:
    if sender:
        _add(_add(area, "Sender"), "LogicalID", sender)
    _add(area, "CreationDateTime", datetime_text(created_at))
    _add(area, "BODID", bod_id)


def _value(parent: etree._Element, text: str, data_type: str, unit: str | None = None) -> None:
    value = _add(parent, "Value")
    _add(value, "ValueString", text)
    _add(value, "DataType", data_type)
    if unit is not None:
        _add(value, "UnitOfMeasure", unit)


def _parameter(segment: etree._Element, name: str, text: str, data_type: str,
               unit: str | None = None) -> None:
    parameter = _add(segment, "SegmentParameter")
    _add(parameter, "ID", name)
    _value(parameter, text, data_type, unit)


def _material(segment: etree._Element, material: Material, requirement_id: str) -> None:
    requirement = _add(segment, "MaterialRequirement")
    _add(requirement, "ID", requirement_id)
    _add(requirement, "MaterialDefinitionID", material.part)
    if material.description:
        _add(requirement, "Description", material.description)
    _add(requirement, "MaterialUse", MaterialUse(material.use).value)
    quantity = _add(requirement, "Quantity")
    _add(quantity, "QuantityString", decimal_text(material.quantity))
    _add(quantity, "DataType", "decimal")
    _add(quantity, "UnitOfMeasure", material.unit)
    if material.revision:
        prop = _add(requirement, "MaterialRequirementProperty")
        _add(prop, "ID", REVISION)
        _value(prop, material.revision, "string")


def _segment(request: etree._Element, document: WorkOrderDocument, operation: Operation,
             materials: Iterable[Material]) -> None:
    if operation.sequence < 0:
        raise ValueError(f"operation sequence {operation.sequence} is negative")
    segment = _add(request, "SegmentRequirement")
    _add(segment, "ID", str(operation.sequence))
    if operation.description:
        _add(segment, "Description", operation.description)
    _add(segment, "EarliestStartTime", datetime_text(document.planned_start))
    _add(segment, "LatestEndTime", datetime_text(document.planned_end))
    _add(segment, "ProcessSegmentID", operation.code)
    _add(segment, "Duration", duration_text(operation.planned_minutes))
    _add(segment, "OperationsDefinitionID", document.part)
    _add(segment, "OperationsSegmentID", operation.code)
    times = [(SETUP_TIME, operation.setup_minutes), (RUN_TIME_PER_UNIT, operation.run_minutes_per_unit),
             (QUEUE_TIME, operation.queue_minutes), (MOVE_TIME, operation.move_minutes)]
    for name, minutes in times:
        if minutes is not None:
            _parameter(segment, name, decimal_text(minutes), "decimal", MINUTE_UNIT)
    _parameter(segment, MILESTONE, flag_text(operation.milestone), "boolean")
    _parameter(segment, REPORTS_QUANTITY, flag_text(operation.reports_quantity), "boolean")
    if operation.instructions:
        _parameter(segment, WORK_INSTRUCTIONS, operation.instructions, "string")
    if operation.document_reference:
        _parameter(segment, DOCUMENT_REFERENCE, operation.document_reference, "string")
    equipment = _add(segment, "EquipmentRequirement")
    _add(equipment, "ID", "WorkCenter")
    _add(equipment, "EquipmentID", operation.work_center)
    _add(equipment, "EquipmentLevel", "WorkCenter")
    for n, material in enumerate(materials, start=1):
        _material(segment, material, f"{operation.sequence}.{n}")


def _produced(document: WorkOrderDocument) -> Material:
    return Material(part=document.part, description=document.part_description,
                    quantity=document.quantity, unit=document.unit, use=MaterialUse.PRODUCED,
                    revision=document.revision)


def _request(schedule: etree._Element, document: WorkOrderDocument) -> None:
    if not document.operations:
        raise ValueError(f"work order {document.number} has no operations; B2MML needs at least one")
    last = document.operations[-1]
    if any(m.use == MaterialUse.PRODUCED and m.part == document.part for m in last.materials):
        raise ValueError(f"work order {document.number}: the last operation lists the produced part "
                         f"{document.part}; the renderer adds it from the work order itself")
    request = _add(schedule, "OperationsRequest")
    _add(request, "ID", document.number)
    _add(request, "Description", PRODUCTION_ORDER_PREFIX + document.production_order)
    for key, value in document.lineage.items():
        if LINEAGE_SEPARATOR in key:
            raise ValueError(f"lineage key {key!r} may not contain {LINEAGE_SEPARATOR!r}")
        _add(request, "Description", f"{LINEAGE_PREFIX}{key}{LINEAGE_SEPARATOR}{value}")
    _add(request, "StartTime", datetime_text(document.planned_start))
    _add(request, "EndTime", datetime_text(document.planned_end))
    scope = _add(request, "HierarchyScope")
    _add(scope, "EquipmentID", document.plant)
    _add(scope, "EquipmentElementLevel", "Site")
    _add(request, "OperationsType", "Production")
    for operation in document.operations[:-1]:
        _segment(request, document, operation, operation.materials)
    _segment(request, document, last, (*last.materials, _produced(document)))


def operations_schedule_tree(documents: Sequence[WorkOrderDocument], *, envelope: Envelope,
                             schedule_id: str,
                             verb: ScheduleVerb = ScheduleVerb.PROCESS) -> etree._Element:
    """The Process-, Change- or CancelOperationsSchedule as an lxml tree (the JSON form is made
    from the same tree, so the two forms cannot drift apart). The three differ only in the root
    and the DataArea's verb: B2MML's Change carries the request as it now stands, its Cancel the
    request being withdrawn."""
    if not documents:
        raise ValueError("an operations schedule needs at least one work order")
    verb = ScheduleVerb(verb)
    root, data_area, _ = _bod(verb.root, verb.value, envelope)
    schedule = _add(data_area, "OperationsSchedule")
    _add(schedule, "ID", schedule_id)
    for document in documents:
        _request(schedule, document)
    return root


def operations_schedule_xml(documents: Sequence[WorkOrderDocument], *, envelope: Envelope,
                            schedule_id: str, verb: ScheduleVerb = ScheduleVerb.PROCESS) -> bytes:
    """A Process- (default), Change- or CancelOperationsSchedule BOD with one OperationsRequest
    per work order (mapping in the module docstring). Raises ValueError for data B2MML cannot
    carry (no operations, a naive time, a negative duration, a non-finite decimal, characters XML
    cannot hold)."""
    root = operations_schedule_tree(documents, envelope=envelope, schedule_id=schedule_id, verb=verb)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def material_definitions_xml(definitions: Sequence[MaterialDefinition], *, envelope: Envelope) -> bytes:
    """A ProcessMaterialDefinition BOD announcing parts the MES has not received yet, so the work
    orders that use them find their MaterialDefinitionIDs there."""
    if not definitions:
        raise ValueError("a ProcessMaterialDefinition needs at least one part")
    root, data_area, _ = _bod("ProcessMaterialDefinition", "Process", envelope)
    for definition in definitions:
        element = _add(data_area, "MaterialDefinition")
        _add(element, "ID", definition.part)
        if definition.description:
            _add(element, "Description", definition.description)
        prop = _add(element, "MaterialDefinitionProperty")
        _add(prop, "ID", BASE_UNIT)
        _value(prop, definition.unit, "Code")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def acknowledgement_xml(request_ids: Sequence[str], *, envelope: Envelope, original_bod_id: str,
                        original_created_at: datetime, action: AckAction = AckAction.ACCEPTED,
                        reason: str = "", schedule_id: str = "") -> bytes:
    """An AcknowledgeOperationsSchedule answering the BOD `original_bod_id`, as an MES sends it.

    B2MML's Acknowledge verb says accepted or rejected with ResponseCriteria/ResponseExpression's
    actionCode (and why in ChangeStatus/Description); the original BOD is named by
    Acknowledge/OriginalApplicationArea, whose CreationDateTime the schema requires, hence
    `original_created_at`. The schema also makes every echoed OperationsRequest carry at least one
    SegmentRequirement with four IDs: each gets one with empty IDs (valid; the IDs mean nothing)."""
    if not request_ids:
        raise ValueError("an acknowledgement names at least one OperationsRequest")
    root, data_area, verb = _bod("AcknowledgeOperationsSchedule", "Acknowledge", envelope)
    _application_area(_add(verb, "OriginalApplicationArea"), sender="", bod_id=original_bod_id,
                      created_at=original_created_at)
    criteria = _add(verb, "ResponseCriteria")
    _add(criteria, "ResponseExpression", "", actionCode=AckAction(action).value)
    if reason:
        _add(_add(criteria, "ChangeStatus"), "Description", reason)
    schedule = _add(data_area, "OperationsSchedule")
    _add(schedule, "ID", schedule_id)
    for request_id in request_ids:
        request = _add(schedule, "OperationsRequest")
        _add(request, "ID", request_id)
        segment = _add(request, "SegmentRequirement")
        for tag in ("ID", "ProcessSegmentID", "OperationsDefinitionID", "OperationsSegmentID"):
            _add(segment, tag, "")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
