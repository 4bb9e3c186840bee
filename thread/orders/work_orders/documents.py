"""A built work order as the document its plant's MES takes: B2MML V0701 XML or B2MML-JSON
(docs/work-orders.md, "Formats"). Each document is validated against the vendored official
schema before it may be written to the outbox; a document that fails holds its work order."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from connectors.b2mml import document as b2mml
from connectors.b2mml.json_form import operations_schedule_json, validate_json
from connectors.b2mml.validate import validate_xml
from connectors.b2mml.xml import material_definitions_xml, operations_schedule_xml
from thread.catalog.choices import WorkOrderFormat

SENDER = "Thread"
XML_MEDIA_TYPE = "application/xml"
JSON_MEDIA_TYPE = "application/json"
MEDIA_TYPES = {WorkOrderFormat.B2MML: XML_MEDIA_TYPE, WorkOrderFormat.JSON: JSON_MEDIA_TYPE}
MAX_PROBLEMS_KEPT = 20


@dataclass(frozen=True)
class RenderedDocument:
    text: str
    media_type: str
    problems: tuple[str, ...]  # schema problems; empty when valid


def work_order_document(work_order: b2mml.WorkOrderDocument, *, fmt: str, bod_id: str,
                        created_at: datetime) -> RenderedDocument:
    envelope = b2mml.Envelope(sender=SENDER, bod_id=bod_id, created_at=created_at)
    if fmt == WorkOrderFormat.JSON:
        data = operations_schedule_json([work_order], envelope=envelope, schedule_id=bod_id)
        problems = validate_json(data)
        text = json.dumps(data, ensure_ascii=False, indent=1)
    else:
        raw = operations_schedule_xml([work_order], envelope=envelope, schedule_id=bod_id)
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
