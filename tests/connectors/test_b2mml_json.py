"""B2MML-JSON: the operations schedule in MESA's JSON form is valid against the vendored
AllSchemas.json, carries the same data as the XML, reads back exactly, and what AllSchemas.json
lets through (JSON-FAULTS.md) is still refused by the reader."""

from __future__ import annotations

import json
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from referencing.exceptions import Unresolvable

from connectors.b2mml import json_form
from connectors.b2mml.errors import B2mmlInvalid, B2mmlRejected
from connectors.b2mml.json_form import operations_schedule_json, parse_operations_schedule_json, validate_json
from connectors.b2mml.parse import parse_operations_schedule
from connectors.b2mml.xml import operations_schedule_xml

from .b2mml_data import ENVELOPE, operation, work_order, work_orders


def render(*documents) -> dict:
    return operations_schedule_json(list(documents), envelope=ENVELOPE, schedule_id="S-1")


def request(obj: dict, n: int = 0) -> dict:
    return obj["ProcessOperationsSchedule"]["DataArea"]["OperationsSchedule"][0]["OperationsRequest"][n]


VARIANTS = {
    "one operation": [work_order(steps=1)],
    "queue and move absent, no instructions": [work_order(operations=(
        operation(10, queue=False, instructions="", document_reference="", components=0),))],
    "several operations requests": [work_order("WO-1"), work_order("WO-2", steps=1, lineage={})],
}


@pytest.mark.parametrize("documents", VARIANTS.values(), ids=VARIANTS.keys())
def test_every_variant_is_valid_and_reads_back_exactly(documents):
    obj = render(*documents)
    assert validate_json(obj) == []
    assert parse_operations_schedule_json(json.loads(json.dumps(obj))) == documents
    # Same data as the XML form.
    xml = operations_schedule_xml(documents, envelope=ENVELOPE, schedule_id="S-1")
    assert parse_operations_schedule(xml) == parse_operations_schedule_json(obj)


def test_the_shape_follows_all_schemas_json():
    obj = render(work_order(steps=2))
    root = obj["ProcessOperationsSchedule"]
    assert list(obj) == ["ProcessOperationsSchedule"]
    assert root["@releaseID"] == "7.01"  # an attribute
    assert root["DataArea"]["Process"] == {}  # an empty complex element
    first = request(obj)
    assert first["ID"] == "WO-1001"  # text content, bare
    assert isinstance(first["Description"], list)  # maxOccurs unbounded: always an array
    assert first["HierarchyScope"] == {"EquipmentID": "BER", "EquipmentElementLevel": "Site"}
    produced = first["SegmentRequirement"][-1]["MaterialRequirement"][-1]
    assert produced["MaterialUse"] == "Produced"
    assert produced["Quantity"] == [{"QuantityString": "25", "DataType": "decimal", "UnitOfMeasure": "pcs"}]
    assert first["SegmentRequirement"][0]["Duration"] == "PT2H45S"
    assert "1.5" in json.dumps(first)  # decimals are strings: no float anywhere
    assert not any(isinstance(v, float) for v in _leaves(obj))


def _leaves(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(work_orders)
def test_any_work_order_is_valid_json_and_round_trips(order):
    obj = json.loads(json.dumps(render(order)))
    assert validate_json(obj) == []
    assert parse_operations_schedule_json(obj) == [order]


def test_invalid_json_gets_readable_problems_and_is_refused():
    obj = render(work_order())
    del request(obj)["ID"]
    request(obj)["Colour"] = "red"
    problems = validate_json(obj)
    assert problems == [
        "$.ProcessOperationsSchedule.DataArea.OperationsSchedule[0].OperationsRequest[0]: "
        "Additional properties are not allowed ('Colour' was unexpected)",
        "$.ProcessOperationsSchedule.DataArea.OperationsSchedule[0].OperationsRequest[0]: "
        "'ID' is a required property"]
    with pytest.raises(B2mmlInvalid) as caught:
        parse_operations_schedule_json(obj)
    assert caught.value.problems == problems


def test_a_problem_about_a_whole_order_is_cut_short():
    obj = render(work_order())
    request(obj)["SegmentRequirement"] = request(obj)["SegmentRequirement"][0]  # not an array
    (problem,) = validate_json(obj)
    assert problem.endswith("…")
    assert len(problem) < 500


@pytest.mark.parametrize(("change", "code"), [
    (lambda r: r["SegmentRequirement"][-1]["MaterialRequirement"][-1].__setitem__("MaterialUse", "Eaten"),
     "bad_value"),
    (lambda r: r.__setitem__("StartTime", "tomorrow"), "bad_value"),
    (lambda r: r["SegmentRequirement"][0].__setitem__("Duration", "two hours"), "bad_value"),
])
def test_what_all_schemas_json_lets_through_the_reader_refuses(change, code):
    """JSON-FAULTS.md 3 and 4: a bare string escapes the enumeration, dates and durations are
    unchecked strings."""
    obj = render(work_order())
    change(request(obj))
    assert validate_json(obj) == []
    with pytest.raises(B2mmlRejected) as caught:
        parse_operations_schedule_json(obj)
    assert caught.value.code == code


def test_faults_of_all_schemas_json_are_as_written_down():
    """JSON-FAULTS.md 2 and 6: a HierarchyScope needs no level, and the root needs no document."""
    obj = render(work_order())
    del request(obj)["HierarchyScope"]["EquipmentElementLevel"]
    assert validate_json(obj) == []
    assert validate_json({}) == []
    with pytest.raises(B2mmlRejected) as caught:
        parse_operations_schedule_json({})
    assert caught.value.code == "unexpected_root"


def test_the_json_schema_is_loaded_once_and_fetches_nothing(monkeypatch):
    loads = []
    real = json_form.json.loads
    monkeypatch.setattr(json_form.json, "loads", lambda text: loads.append(1) or real(text))
    monkeypatch.setattr(json_form, "_validator", None)
    threads = [threading.Thread(target=json_form.json_validator) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert validate_json(render(work_order())) == []
    assert validate_json(render(work_order(steps=1))) == []
    assert len(loads) == 1
    # The registry retrieves nothing: a $ref outside the vendored file is unresolvable, even one a
    # default jsonschema validator would fetch (a file: URL to the very same schema).
    outside = {"$ref": json_form.JSON_SCHEMA.as_uri() + "#/$defs/IdentifierType"}
    with pytest.raises(Unresolvable):
        json_form.json_validator().evolve(schema=outside).validate("WO-1")
