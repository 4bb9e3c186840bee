"""B2MML documents back into Thread's plain data: the inverse of `xml.py` for a
ProcessOperationsSchedule (`parse(render(docs)) == docs`, see `values.py` for why that holds
exactly), an MES's AcknowledgeOperationsSchedule, and the ApplicationArea of any BOD.

Every document is parsed safely (`safe.parse_xml`) and validated against the official schema
before it is read (B2mmlInvalid lists the problems); what the schema leaves open (a decimal in a
QuantityString, a SegmentRequirement ID that must be Thread's operation sequence) is checked here
(B2mmlRejected "bad_value" / "missing_element", with the element's path).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from lxml import etree

from .document import Envelope, Material, MaterialUse, Operation, ScheduleVerb, WorkOrderDocument
from .errors import B2mmlInvalid, B2mmlRejected
from .safe import parse_xml
from .validate import element_path, tree_problems
from .values import (
    DOCUMENT_REFERENCE,
    LINEAGE_PREFIX,
    LINEAGE_SEPARATOR,
    MILESTONE,
    MOVE_TIME,
    NS,
    PRODUCTION_ORDER_PREFIX,
    QUEUE_TIME,
    REPORTS_QUANTITY,
    REVISION,
    RUN_TIME_PER_UNIT,
    SETUP_TIME,
    WORK_INSTRUCTIONS,
    parse_datetime,
    parse_decimal,
    parse_duration_minutes,
    parse_flag,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Acknowledgement:
    """An MES's AcknowledgeOperationsSchedule: which OperationsRequests it answers and how.

    B2MML says accepted or rejected with the Acknowledge verb's ResponseCriteria: `actions` are
    their ResponseExpression actionCodes in order ("Accepted", "Modified", "Rejected", …), `reasons`
    the ChangeStatus Descriptions and Reasons. No ResponseCriteria at all is a plain "received"."""

    request_ids: tuple[str, ...]
    original_bod_id: str  # Acknowledge/OriginalApplicationArea/BODID; "" when not echoed
    actions: tuple[str, ...]
    reasons: tuple[str, ...]
    envelope: Envelope  # the acknowledgement's own ApplicationArea

    @property
    def accepted(self) -> bool:
        return "Rejected" not in self.actions


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _all(parent: etree._Element, tag: str) -> list[etree._Element]:
    return parent.findall(_q(tag))


def _one(parent: etree._Element, tag: str) -> etree._Element:
    found = parent.find(_q(tag))
    if found is None:
        raise B2mmlRejected("missing_element", f"{tag} is missing", element_path(parent))
    return found


def _text(parent: etree._Element, tag: str) -> str:
    """The text of a child element, "" when it is absent or empty."""
    found = parent.find(_q(tag))
    return "" if found is None else (found.text or "")


def _read(element: etree._Element, reader: Callable[[str], T]) -> T:
    """An element's text through one of `values`' readers; its complaint becomes "bad_value" at the
    element's path (worked out only then: a path costs a walk over the siblings)."""
    try:
        return reader(element.text or "")
    except ValueError as exc:
        raise B2mmlRejected("bad_value", str(exc), element_path(element)) from None


def _parameters(segment: etree._Element) -> dict[str, etree._Element]:
    """SegmentParameter ID → its first Value (the first parameter of an ID wins)."""
    values: dict[str, etree._Element] = {}
    for parameter in _all(segment, "SegmentParameter"):
        value = parameter.find(_q("Value"))
        if value is not None:
            values.setdefault(_text(parameter, "ID"), value)
    return values


def _material(requirement: etree._Element) -> Material:
    use = _text(requirement, "MaterialUse")
    if use not in {m.value for m in MaterialUse}:
        raise B2mmlRejected("bad_value", f"MaterialUse {use!r} is not one Thread reads "
                            f"({', '.join(MaterialUse)})", element_path(requirement))
    quantity = _one(requirement, "Quantity")
    revision = ""
    for prop in _all(requirement, "MaterialRequirementProperty"):
        if _text(prop, "ID") == REVISION:
            revision = _text(_one(prop, "Value"), "ValueString")
    return Material(part=_text(requirement, "MaterialDefinitionID"),
                    description=_text(requirement, "Description"),
                    quantity=_read(_one(quantity, "QuantityString"), parse_decimal),
                    unit=_text(quantity, "UnitOfMeasure"), use=MaterialUse(use), revision=revision)


def _operation(segment: etree._Element, materials: tuple[Material, ...]) -> Operation:
    sequence = _text(segment, "ID")
    if not (sequence.isascii() and sequence.isdigit()):
        raise B2mmlRejected("bad_value", f"SegmentRequirement ID {sequence!r} is not an operation "
                            "sequence number", element_path(segment))
    parameters = _parameters(segment)

    def minutes(name: str) -> Decimal:
        value = parameters.get(name)
        if value is None:
            raise B2mmlRejected("missing_element", f"SegmentParameter {name} is missing",
                                element_path(segment))
        return _read(_one(value, "ValueString"), parse_decimal)

    def optional_minutes(name: str) -> Decimal | None:
        return minutes(name) if name in parameters else None

    def flag(name: str) -> bool:
        value = parameters.get(name)
        return value is not None and _read(_one(value, "ValueString"), parse_flag)

    def text(name: str) -> str:
        value = parameters.get(name)
        return "" if value is None else _text(value, "ValueString")

    equipment = _one(segment, "EquipmentRequirement")
    return Operation(
        sequence=int(sequence), code=_text(segment, "ProcessSegmentID"),
        description=_text(segment, "Description"), work_center=_text(equipment, "EquipmentID"),
        setup_minutes=minutes(SETUP_TIME), run_minutes_per_unit=minutes(RUN_TIME_PER_UNIT),
        planned_minutes=_read(_one(segment, "Duration"), parse_duration_minutes),
        queue_minutes=optional_minutes(QUEUE_TIME), move_minutes=optional_minutes(MOVE_TIME),
        milestone=flag(MILESTONE), reports_quantity=flag(REPORTS_QUANTITY),
        instructions=text(WORK_INSTRUCTIONS), document_reference=text(DOCUMENT_REFERENCE),
        materials=materials)


def _work_order(request: etree._Element) -> WorkOrderDocument:
    production_order = ""
    lineage: dict[str, str] = {}
    for description in _all(request, "Description"):
        text = description.text or ""
        if text.startswith(PRODUCTION_ORDER_PREFIX):
            production_order = text.removeprefix(PRODUCTION_ORDER_PREFIX)
        elif text.startswith(LINEAGE_PREFIX) and LINEAGE_SEPARATOR in text:
            key, value = text.removeprefix(LINEAGE_PREFIX).split(LINEAGE_SEPARATOR, 1)
            lineage[key] = value
    *earlier, last = [(segment, [_material(r) for r in _all(segment, "MaterialRequirement")])
                      for segment in _all(request, "SegmentRequirement")] or [(request, [])]
    # The work order's own part is the last Produced requirement of the last operation.
    last_segment, last_materials = last
    produced_at = max((i for i, m in enumerate(last_materials) if m.use == MaterialUse.PRODUCED),
                      default=None)
    if produced_at is None:
        raise B2mmlRejected("missing_element", "the last SegmentRequirement has no MaterialRequirement "
                            "with MaterialUse Produced", element_path(last_segment))
    produced = last_materials.pop(produced_at)
    operations = [_operation(segment, tuple(materials)) for segment, materials in (*earlier, last)]
    scope = _one(request, "HierarchyScope")
    return WorkOrderDocument(
        number=_text(request, "ID"), production_order=production_order,
        plant=_text(scope, "EquipmentID"), part=produced.part,
        part_description=produced.description, revision=produced.revision,
        quantity=produced.quantity, unit=produced.unit,
        planned_start=_read(_one(request, "StartTime"), parse_datetime),
        planned_end=_read(_one(request, "EndTime"), parse_datetime),
        operations=tuple(operations), lineage=lineage)


def _checked_root(document: bytes, expected: str) -> etree._Element:
    root = parse_xml(document)
    if root.tag != _q(expected):
        raise B2mmlRejected("unexpected_root", f"expected {expected}, got {etree.QName(root).localname}"
                            f" in {etree.QName(root).namespace or 'no namespace'}", element_path(root))
    problems = tree_problems(root)
    if problems:
        raise B2mmlInvalid(problems)
    return root


def operations_schedule_from_tree(root: etree._Element) -> list[WorkOrderDocument]:
    """The work orders of a ProcessOperationsSchedule tree, every OperationsRequest of every
    OperationsSchedule in document order (the JSON form is read through the same function)."""
    data_area = _one(root, "DataArea")
    return [_work_order(request) for schedule in _all(data_area, "OperationsSchedule")
            for request in _all(schedule, "OperationsRequest")]


@dataclass(frozen=True)
class ScheduleMessage:
    """An OperationsSchedule BOD read back: its verb and its work orders in document order."""

    verb: ScheduleVerb
    work_orders: list[WorkOrderDocument]


def parse_schedule_message(document: bytes) -> ScheduleMessage:
    """A Process-, Change- or CancelOperationsSchedule (what an MES receives from Thread)."""
    root = parse_xml(document)
    verbs = {_q(verb.root): verb for verb in ScheduleVerb}
    if root.tag not in verbs:
        expected = ", ".join(verb.root for verb in ScheduleVerb)
        raise B2mmlRejected("unexpected_root", f"expected one of {expected}, got "
                            f"{etree.QName(root).localname}", element_path(root))
    verb = verbs[root.tag]
    return ScheduleMessage(verb, operations_schedule_from_tree(_checked_root(document, verb.root)))


def parse_operations_schedule(document: bytes) -> list[WorkOrderDocument]:
    """The work orders of a ProcessOperationsSchedule (the inverse of operations_schedule_xml)."""
    return operations_schedule_from_tree(_checked_root(document, "ProcessOperationsSchedule"))


def _envelope(area: etree._Element) -> Envelope:
    sender = area.find(_q("Sender"))
    return Envelope(sender="" if sender is None else _text(sender, "LogicalID"),
                    bod_id=_text(area, "BODID"),
                    created_at=_read(_one(area, "CreationDateTime"), parse_datetime))


def parse_envelope(document: bytes) -> Envelope:
    """The ApplicationArea of any BOD (who sent it, its BODID, when): what an acknowledgement must
    name as its original. The document is parsed safely but not validated."""
    return _envelope(_one(parse_xml(document), "ApplicationArea"))


def parse_acknowledgement(document: bytes) -> Acknowledgement:
    """An MES's AcknowledgeOperationsSchedule, validated against the schema first."""
    root = _checked_root(document, "AcknowledgeOperationsSchedule")
    data_area = _one(root, "DataArea")
    verb = _one(data_area, "Acknowledge")
    original = verb.find(_q("OriginalApplicationArea"))
    actions, reasons = [], []
    for criteria in _all(verb, "ResponseCriteria"):
        expression = criteria.find(_q("ResponseExpression"))
        if expression is not None:
            actions.append(expression.get("actionCode", ""))
        status = criteria.find(_q("ChangeStatus"))
        if status is not None:
            reasons += [e.text or "" for e in status if e.tag in (_q("Description"), _q("Reason"))]
    return Acknowledgement(
        request_ids=tuple(_text(request, "ID") for schedule in _all(data_area, "OperationsSchedule")
                          for request in _all(schedule, "OperationsRequest")),
        original_bod_id="" if original is None else _text(original, "BODID"),
        actions=tuple(actions), reasons=tuple(reasons),
        envelope=_envelope(_one(root, "ApplicationArea")))
