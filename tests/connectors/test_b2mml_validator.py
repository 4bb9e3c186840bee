"""The choice of validator (connectors/b2mml/validate.py): libxml2 gives the same verdict as
xmlschema, the reference implementation in Python, on valid documents and on documents broken
in the ways the official schema is easiest to get wrong. xmlschema takes seconds to load, so it
is loaded once here and only here."""

from __future__ import annotations

import copy

import pytest
import xmlschema
from lxml import etree

from connectors.b2mml import validate
from connectors.b2mml.xml import (
    AckAction,
    acknowledgement_xml,
    material_definitions_xml,
    operations_schedule_xml,
)

from .b2mml_data import DEFINITIONS, ENVELOPE, work_order

B = "{http://www.mesa.org/xml/B2MML}"


@pytest.fixture(scope="module")
def reference():
    return xmlschema.XMLSchema10(str(validate.ENTRY_SCHEMA), defuse="always", allow="local")


def _set(tag: str, value: str):
    def change(root):
        root.find(f".//{B}{tag}").text = value
    return change


def _remove(tag: str):
    def change(root):
        element = root.find(f".//{B}{tag}")
        element.getparent().remove(element)
    return change


def _add_level(root):
    etree.SubElement(root.find(f".//{B}HierarchyScope"), f"{B}EquipmentLevel").text = "Site"


def _user_area(namespace: str):
    def change(root):
        area = etree.SubElement(root.find(f"{B}ApplicationArea"), f"{B}UserArea")
        etree.SubElement(area, f"{{{namespace}}}BODID").text = "x"
    return change


SCHEDULE_CHANGES = {
    "as written": lambda root: None,
    "level outside the enumeration": _set("EquipmentElementLevel", "Plant"),
    "both levels of the HierarchyScope choice": _add_level,
    "no level": _remove("EquipmentElementLevel"),
    "MaterialUse outside the enumeration": _set("MaterialUse", "Eaten"),
    "fractional minutes in a duration": _set("Duration", "PT1.5M"),
    "negative duration": _set("Duration", "-PT1M"),
    "duration with years": _set("Duration", "P1Y"),
    "time without a zone": _set("StartTime", "2026-11-25T08:00:00"),
    "date without a time": _set("StartTime", "2026-11-25"),
    "hour 24": _set("StartTime", "2026-11-25T24:00:00Z"),
    "offset beyond 14 hours": _set("StartTime", "2026-11-25T08:00:00+15:00"),
    "DataType outside the enumeration": _set("DataType", "decimals"),
    "OperationsType outside the enumeration": _set("OperationsType", "Making"),
    "required ProcessSegmentID missing": _remove("ProcessSegmentID"),
    "required OperationsDefinitionID missing": _remove("OperationsDefinitionID"),
    "required CreationDateTime missing": _remove("CreationDateTime"),
    "releaseID missing": lambda root: root.attrib.pop("releaseID"),
    "unknown attribute": lambda root: root.set("colour", "red"),
    "UserArea with a B2MML element": _user_area("http://www.mesa.org/xml/B2MML"),
    "UserArea with an undeclared element (strict wildcard)": _user_area("urn:example"),
}
ACK_CHANGES = {
    "as written": lambda root: None,
    "actionCode outside the enumeration (a union with normalizedString)": lambda root: root.find(
        f".//{B}ResponseExpression").set("actionCode", "Whatever"),
    "actionCode missing": lambda root: root.find(f".//{B}ResponseExpression").attrib.pop("actionCode"),
    "required SegmentRequirement missing": _remove("SegmentRequirement"),
}


def _verdicts(reference, document: bytes, change) -> tuple[bool, bool]:
    root = copy.deepcopy(etree.fromstring(document))
    change(root)
    return validate.xml_schema().validate(root), reference.is_valid(root)


@pytest.mark.parametrize("change", SCHEDULE_CHANGES.values(), ids=SCHEDULE_CHANGES.keys())
def test_libxml2_agrees_with_xmlschema_on_operations_schedules(reference, change):
    document = operations_schedule_xml([work_order()], envelope=ENVELOPE, schedule_id="S-1")
    lxml_verdict, reference_verdict = _verdicts(reference, document, change)
    assert lxml_verdict == reference_verdict


@pytest.mark.parametrize("change", ACK_CHANGES.values(), ids=ACK_CHANGES.keys())
def test_libxml2_agrees_with_xmlschema_on_acknowledgements(reference, change):
    document = acknowledgement_xml(["WO-1"], envelope=ENVELOPE, original_bod_id="B-1",
                                   original_created_at=ENVELOPE.created_at, action=AckAction.REJECTED,
                                   reason="unknown part")
    lxml_verdict, reference_verdict = _verdicts(reference, document, change)
    assert lxml_verdict == reference_verdict


def test_libxml2_agrees_with_xmlschema_on_material_definitions(reference):
    document = material_definitions_xml(DEFINITIONS, envelope=ENVELOPE)
    assert _verdicts(reference, document, lambda root: None) == (True, True)
    assert _verdicts(reference, document, _remove("ID")) == (False, False)
