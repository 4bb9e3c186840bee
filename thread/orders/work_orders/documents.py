"""A built work order as the document its plant's MES takes: B2MML V0701 XML or B2MML-JSON
(docs/work-orders.md, "Formats"). Each document is validated against the vendored official
schema before it may be written to the outbox; a document that fails holds its work order."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from connectors.b2mml import document as b2mml
from connectors.b2mml.json_form import (
    operations_schedule_json,
    parse_schedule_message_json,
    validate_json,
)
from connectors.b2mml.parse import parse_schedule_message
from connectors.b2mml.validate import validate_xml
from connectors.b2mml.xml import material_definitions_xml, operations_schedule_xml
from thread.catalog.choices import WorkOrderFormat

from .plan import Plan

SENDER = "Thread"
XML_MEDIA_TYPE = "application/xml"
JSON_MEDIA_TYPE = "application/json"
MEDIA_TYPES = {WorkOrderFormat.B2MML: XML_MEDIA_TYPE, WorkOrderFormat.JSON: JSON_MEDIA_TYPE}
MAX_PROBLEMS_KEPT = 20


def work_order_data(plan: Plan, *, number: str, production_order: str, plant: str, part: str,
                    part_description: str, revision: str, quantity: Decimal, unit: str,
                    planned_start: datetime, planned_end: datetime, lineage: Mapping[str, str],
                    descriptions: Mapping[str, str]) -> b2mml.WorkOrderDocument:
    """A computed plan as the renderers' plain data. The produced part is left out of the last
    operation's materials: the renderers add it from the work order's own part and quantity."""
    operations = tuple(
        b2mml.Operation(
            sequence=planned.step.sequence, code=planned.step.code,
            description=planned.step.description, work_center=planned.step.work_center,
            setup_minutes=planned.step.setup_minutes,
            run_minutes_per_unit=planned.step.run_minutes,
            planned_minutes=planned.planned_minutes, queue_minutes=planned.step.queue_minutes,
            move_minutes=planned.step.move_minutes, milestone=planned.step.milestone,
            reports_quantity=planned.step.reports_quantity,
            instructions=planned.step.instructions,
            document_reference=planned.step.document_reference,
            materials=tuple(b2mml.Material(part=m.part, description=descriptions.get(m.part, ""),
                                           quantity=m.quantity, unit=m.unit)
                            for m in planned.materials if not m.produced))
        for planned in plan.operations)
    return b2mml.WorkOrderDocument(
        number=number, production_order=production_order, plant=plant, part=part,
        part_description=part_description, revision=revision, quantity=quantity, unit=unit,
        planned_start=planned_start, planned_end=planned_end, operations=operations,
        lineage=dict(lineage))


@dataclass(frozen=True)
class RenderedDocument:
    text: str
    media_type: str
    problems: tuple[str, ...]  # schema problems; empty when valid


def work_order_document(work_order: b2mml.WorkOrderDocument, *, fmt: str, bod_id: str,
                        created_at: datetime,
                        verb: b2mml.ScheduleVerb = b2mml.ScheduleVerb.PROCESS) -> RenderedDocument:
    """The work order as a Process- (new), Change- or CancelOperationsSchedule."""
    envelope = b2mml.Envelope(sender=SENDER, bod_id=bod_id, created_at=created_at)
    try:
        return _rendered(work_order, fmt, envelope, bod_id, verb)
    except ValueError as error:  # data B2MML cannot carry (a character XML cannot hold…)
        return RenderedDocument("", MEDIA_TYPES[fmt], (f"cannot be written: {error}",))


def _rendered(work_order: b2mml.WorkOrderDocument, fmt: str, envelope: b2mml.Envelope,
              bod_id: str, verb: b2mml.ScheduleVerb) -> RenderedDocument:
    if fmt == WorkOrderFormat.JSON:
        data = operations_schedule_json([work_order], envelope=envelope, schedule_id=bod_id,
                                        verb=verb)
        problems = validate_json(data)
        text = json.dumps(data, ensure_ascii=False, indent=1)
    else:
        raw = operations_schedule_xml([work_order], envelope=envelope, schedule_id=bod_id,
                                      verb=verb)
        problems = validate_xml(raw)
        text = raw.decode()
    return RenderedDocument(text, MEDIA_TYPES[fmt], tuple(problems[:MAX_PROBLEMS_KEPT]))


def material_definitions_document(definitions: Sequence[b2mml.MaterialDefinition], *,
                                  bod_id: str, created_at: datetime) -> RenderedDocument:
    """ProcessMaterialDefinition for the parts the MES has not received yet (B2MML MESs only: a
    JSON MES takes the material data inside the work order)."""
    raw = material_definitions_xml(definitions, envelope=b2mml.Envelope(
        sender=SENDER, bod_id=bod_id, created_at=created_at))
    return RenderedDocument(raw.decode(), XML_MEDIA_TYPE, tuple(validate_xml(raw)[:MAX_PROBLEMS_KEPT]))


def cancellation_document(sent: str, *, fmt: str, number: str, bod_id: str,
                          created_at: datetime) -> RenderedDocument:
    """The CancelOperationsSchedule of work order `number` as the MES last received it: its
    request read back from the document sent (alone or in a shift batch), with the Cancel verb."""
    if fmt == WorkOrderFormat.JSON:
        requests = parse_schedule_message_json(json.loads(sent)).work_orders
    else:
        requests = parse_schedule_message(sent.encode()).work_orders
    request = next(r for r in requests if r.number == number)
    rendered = work_order_document(request, fmt=fmt, bod_id=bod_id, created_at=created_at,
                                   verb=b2mml.ScheduleVerb.CANCEL)
    if rendered.problems:  # read back from a valid document: cannot happen unless a bug
        raise ValueError(f"cancellation of {number} is not valid: {rendered.problems[0]}")
    return rendered
