"""Reading an MES's B2MML V0701 ProcessOperationsPerformance: what it did with the work orders
Thread sent (docs/feedback.md, "B2MML"). Parsed safely (no DTD, no entities, size-limited) and
validated against the vendored official schema before anything is read.

Where each result field is (below DataArea/OperationsPerformance):

    OperationsResponse/OperationsRequestID             the work order (Thread's OperationsRequest ID)
      SegmentResponse/ID                               the MES's report id
      SegmentResponse/SegmentRequirementID             the operation's sequence (as Thread sent it)
      SegmentResponse/ActualStartTime, ActualEndTime   start, end
      SegmentResponse/SegmentState = Completed         the operation is done
      SegmentResponse/EquipmentActual/EquipmentID      the work center
      SegmentResponse/MaterialActual[MaterialUse=Produced]
          Quantity/QuantityString, UnitOfMeasure       good quantity and its unit
          MaterialLotID, MaterialSubLotID              lot, serial
      SegmentResponse/SegmentData ID=ScrapQuantity, ScrapReason, SetupTime, RunTime (minutes),
                                  Corrects (the report id this one replaces)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from lxml import etree

from .document import Envelope
from .errors import B2mmlRejected
from .parse import _all, _checked_root, _one, _q
from .validate import element_path
from .values import MINUTE_UNIT, datetime_text, parse_datetime
from .xml import _add, _bod

ROOT = "ProcessOperationsPerformance"
COMPLETED = "Completed"
SCRAP_QUANTITY, SCRAP_REASON = "ScrapQuantity", "ScrapReason"
SETUP_TIME, RUN_TIME, CORRECTS = "SetupTime", "RunTime", "Corrects"


@dataclass(frozen=True)
class SegmentReport:
    """One SegmentResponse as plain data, with where it is in the document."""

    work_order: str
    report_id: str
    operation: int | None
    started_at: datetime | None
    ended_at: datetime | None
    completed: bool
    work_center: str
    good_quantity: Decimal
    unit: str
    scrap_quantity: Decimal
    scrap_reason: str
    setup_minutes: Decimal | None
    run_minutes: Decimal | None
    lot: str
    serial: str
    corrects: str
    path: str = ""  # where it was in the document it was read from


def _text(parent: etree._Element, tag: str) -> str:
    found = parent.find(_q(tag))
    return (found.text or "").strip() if found is not None else ""


def _decimal(text: str, where: etree._Element, name: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise B2mmlRejected("not_a_number", f"{name} {text!r} is not a number",
                            element_path(where)) from None


def _time(parent: etree._Element, tag: str) -> datetime | None:
    found = parent.find(_q(tag))
    if found is None or not (found.text or "").strip():
        return None
    try:
        return parse_datetime(found.text.strip())
    except ValueError:
        raise B2mmlRejected("not_a_time", f"{tag} {found.text!r} is not a date-time with its "
                                          "offset", element_path(found)) from None


def _segment_data(segment: etree._Element) -> dict[str, tuple[str, etree._Element]]:
    data = {}
    for item in _all(segment, "SegmentData"):
        value = item.find(_q("Value"))
        data[_text(item, "ID")] = (_text(value, "ValueString") if value is not None else "", item)
    return data


def _segment(response: etree._Element, segment: etree._Element, work_order: str) -> SegmentReport:
    produced = [m for m in _all(segment, "MaterialActual") if _text(m, "MaterialUse") == "Produced"]
    good, unit, lot, serial = Decimal(0), "", "", ""
    for material in produced:
        for quantity in _all(material, "Quantity"):
            good += _decimal(_text(quantity, "QuantityString"), quantity, "Quantity")
            unit = unit or _text(quantity, "UnitOfMeasure")
        lot = lot or _text(material, "MaterialLotID")
        serial = serial or _text(material, "MaterialSubLotID")
    data = _segment_data(segment)

    def number(name: str) -> Decimal | None:
        if name not in data or not data[name][0]:
            return None
        return _decimal(data[name][0], data[name][1], name)

    sequence = _text(segment, "SegmentRequirementID")
    equipment = segment.find(_q("EquipmentActual"))
    return SegmentReport(
        path=element_path(segment), work_order=work_order, report_id=_text(segment, "ID"),
        operation=int(sequence) if sequence.isdigit() else None,
        started_at=_time(segment, "ActualStartTime"), ended_at=_time(segment, "ActualEndTime"),
        completed=_text(segment, "SegmentState") == COMPLETED,
        work_center=_text(equipment, "EquipmentID") if equipment is not None else "",
        good_quantity=good, unit=unit, scrap_quantity=number(SCRAP_QUANTITY) or Decimal(0),
        scrap_reason=data.get(SCRAP_REASON, ("", None))[0], setup_minutes=number(SETUP_TIME),
        run_minutes=number(RUN_TIME), lot=lot, serial=serial,
        corrects=data.get(CORRECTS, ("", None))[0])


def parse_operations_performance(document: bytes) -> list[SegmentReport]:
    """Every SegmentResponse of every OperationsResponse, in document order."""
    root = _checked_root(document, ROOT)
    reports = []
    for performance in _all(_one(root, "DataArea"), "OperationsPerformance"):
        for response in _all(performance, "OperationsResponse"):
            work_order = _text(response, "OperationsRequestID")
            if not work_order:
                raise B2mmlRejected("work_order_missing", "OperationsRequestID (the work order) "
                                    "is required", element_path(response))
            reports += [_segment(response, segment, work_order)
                        for segment in _all(response, "SegmentResponse")]
    return reports


def operations_performance_xml(reports: Sequence[SegmentReport], *, envelope: Envelope,
                               performance_id: str = "") -> bytes:
    """A ProcessOperationsPerformance as an MES sends it (the sandbox MES, the tests): one
    OperationsResponse per work order, one SegmentResponse per report, in the order given. The
    inverse of `parse_operations_performance`."""
    root, data_area, _ = _bod(ROOT, "Process", envelope)
    performance = _add(data_area, "OperationsPerformance")
    _add(performance, "ID", performance_id or envelope.bod_id)
    by_work_order: dict[str, list[SegmentReport]] = {}
    for report in reports:
        by_work_order.setdefault(report.work_order, []).append(report)
    for number, segments in by_work_order.items():
        response = _add(performance, "OperationsResponse")
        _add(response, "ID", f"{number}-response")
        _add(response, "OperationsRequestID", number)
        for report in segments:
            _segment_xml(_add(response, "SegmentResponse"), report)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _segment_xml(segment: etree._Element, report: SegmentReport) -> None:
    # Element order follows OpSegmentResponseType's sequence.
    _add(segment, "ID", report.report_id)
    if report.started_at:
        _add(segment, "ActualStartTime", datetime_text(report.started_at))
    if report.ended_at:
        _add(segment, "ActualEndTime", datetime_text(report.ended_at))
    if report.operation is not None:
        _add(segment, "SegmentRequirementID", str(report.operation))
    if report.completed:
        _add(segment, "SegmentState", COMPLETED)
    for name, value, data_type in ((SCRAP_QUANTITY, report.scrap_quantity, "decimal"),
                                   (SCRAP_REASON, report.scrap_reason, "string"),
                                   (SETUP_TIME, report.setup_minutes, "decimal"),
                                   (RUN_TIME, report.run_minutes, "decimal"),
                                   (CORRECTS, report.corrects, "string")):
        if value in (None, "") or (name == SCRAP_QUANTITY and not value):
            continue
        data = _add(segment, "SegmentData")
        _add(data, "ID", name)
        value_element = _add(data, "Value")
        _add(value_element, "ValueString", str(value))
        _add(value_element, "DataType", data_type)
        if name in (SETUP_TIME, RUN_TIME):
            _add(value_element, "UnitOfMeasure", MINUTE_UNIT)
    if report.work_center:
        equipment = _add(segment, "EquipmentActual")
        _add(equipment, "ID", "WorkCenter")
        _add(equipment, "EquipmentID", report.work_center)
    material = _add(segment, "MaterialActual")
    _add(material, "ID", "produced")
    if report.lot:
        _add(material, "MaterialLotID", report.lot)
    if report.serial:
        _add(material, "MaterialSubLotID", report.serial)
    _add(material, "MaterialUse", "Produced")
    quantity = _add(material, "Quantity")
    _add(quantity, "QuantityString", str(report.good_quantity))
    _add(quantity, "DataType", "decimal")
    if report.unit:
        _add(quantity, "UnitOfMeasure", report.unit)
