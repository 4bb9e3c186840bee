"""Fixtures of the eBOM ingest tests."""

from __future__ import annotations

import copy

import pytest

from thread.bom.models import EBom, EBomLine
from thread.catalog.models import Part, PartRevision
from thread.flows.models import InboundMessage

EBOMS = "/api/v1/bom/eboms/"

# The example, nested.
EXAMPLE = {
    "part": "BK-100", "revision": "B", "name": "E-bike, city", "release": False,
    "reason": "PLM release 2026-11-20",
    "lines": [
        {"find_number": 10, "part": "FR-200", "name": "Frame assembly", "quantity": "1",
         "unit": "pcs", "item_type": "component", "revision": "C",
         "lines": [{"find_number": 10, "part": "TB-310", "quantity": "1250", "unit": "mm",
                    "item_type": "component", "attributes": {"material": "AL6061"}}]},
        {"find_number": 20, "part": "KT-900", "quantity": "1", "unit": "pcs",
         "item_type": "phantom",
         "lines": [{"find_number": 10, "part": "SC-M5x12", "quantity": "8", "unit": "pcs",
                    "reference_designators": [], "item_type": "component"}]},
        {"find_number": 30, "part": "DOC-1", "quantity": "1", "unit": "pcs",
         "item_type": "document"},
    ],
}


@pytest.fixture
def example():
    return copy.deepcopy(EXAMPLE)


def db_state() -> dict[str, int]:
    """What an ingest may write, counted: a refused push must leave all of it as it was."""
    return {
        "parts": Part.objects.count(), "part history": Part.history.count(),
        "revisions": PartRevision.objects.count(),
        "revision history": PartRevision.history.count(),
        "eboms": EBom.objects.count(), "lines": EBomLine.objects.count(),
        "current": EBom.objects.filter(is_current=True).count(),
        "accepted messages": InboundMessage.objects.filter(status="accepted").count(),
    }


def ebom_content() -> list[tuple]:
    """Every current eBOM as comparable plain data (no ids, no times)."""
    return sorted(
        (line.ebom.revision.part.number, line.ebom.revision.label, line.ebom.revision.status,
         line.ebom.number, line.find_number, line.part.number, line.quantity, line.unit.code,
         line.item_type, tuple(line.reference_designators),
         tuple(sorted(line.attributes.items())))
        for line in EBomLine.objects.filter(ebom__is_current=True).select_related(
            "ebom__revision__part", "part", "unit"))
