"""Benchmark of building a work order: a production order of a 5,000-line mBOM with 40
operations, planned, turned into B2MML and validated, against validating the same document
alone, in the same run.

Run: `.venv/bin/python bench/work_orders.py` (no database: the plan, the document assembly,
the rendering and the validation are the parts of the build that grow with the order; the
database reads and the bulk insert of the requirements are measured by the mBOM pipeline
bench's persist step). Two floors, because Thread validates with libxml2 (lxml) and the issue's
aim was written with xmlschema in mind:
- `validate (lxml)`: the vendored schema, already loaded, on the rendered bytes — what Thread
  runs before every outbox write;
- `validate (xmlschema)`: the same document with xmlschema (pure Python), schema loaded once.
Times are the fastest of REPEATS rounds.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.b2mml.document import Envelope
from connectors.b2mml.validate import ENTRY_SCHEMA, validate_xml, xml_schema
from connectors.b2mml.xml import operations_schedule_xml
from thread.catalog.units import Unit
from thread.orders.work_orders.documents import work_order_data
from thread.orders.work_orders.plan import Line, Step, work_order_plan

LINES, OPERATIONS, REPEATS, SEED = 5_000, 40, 5, 20261206
UNITS = {"pcs": Unit("pcs", "count", Decimal(1)), "m": Unit("m", "length", Decimal(1)),
         "mm": Unit("mm", "length", Decimal("0.001")), "kg": Unit("kg", "mass", Decimal(1)),
         "g": Unit("g", "mass", Decimal("0.001"))}


def order_data():
    rng = random.Random(SEED)
    steps = [Step(id=i, sequence=10 * i, code=f"OP{i:03}", description=f"Operation {i}",
                  work_center=f"WC-{i % 7}", work_center_plant="BER",
                  setup_minutes=Decimal(rng.randint(0, 60)),
                  run_minutes=Decimal(rng.randint(1, 900)) / 100,
                  queue_minutes=Decimal(15) if i % 3 == 0 else None, milestone=i % 10 == 0,
                  reports_quantity=i % 5 == 0, instructions=f"Step {i}: follow WI-{i}.")
             for i in range(1, OPERATIONS + 1)]
    lines, issue_units = [], {}
    for n in range(1, LINES + 1):
        unit = rng.choice(["pcs", "pcs", "pcs", "mm", "g"])
        per = Decimal(rng.randint(1, 4000)) / (1 if unit == "pcs" else 10)
        operation = "" if n % 11 == 0 else f"OP{rng.randint(1, OPERATIONS):03}"
        part = f"C-{n:05}"
        lines.append(Line(n, n, part, per * Decimal("1.02"), unit, operation))
        issue_units[part] = {"pcs": "pcs", "mm": "m", "g": "kg"}[unit]
    return steps, lines, issue_units


def build(steps, lines, issue_units) -> bytes:
    plan = work_order_plan(plant="BER", part="BK-100", quantity=Decimal(250), unit="pcs",
                           steps=steps, lines=lines, units=UNITS, issue_units=issue_units,
                           part_conversions={})
    start = datetime(2027, 1, 20, 5, tzinfo=UTC)
    data = work_order_data(
        plan, number="1000456", production_order="1000456", plant="BER", part="BK-100",
        part_description="E-bike, city", revision="B", quantity=Decimal(250), unit="pcs",
        planned_start=start, planned_end=start, lineage={"mbom_version": "12"},
        descriptions={line.part: f"Component {line.part}" for line in lines})
    return operations_schedule_xml([data], envelope=Envelope("Thread", "bench-1", start),
                                   schedule_id="bench-1")


def fastest(work) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        began = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - began)
    return best


def main() -> None:
    import xmlschema

    steps, lines, issue_units = order_data()
    xml_schema()  # loaded once per process, as in Thread
    document = build(steps, lines, issue_units)
    assert validate_xml(document) == [], "the benchmark's document must be valid"
    began = time.perf_counter()
    slow_schema = xmlschema.XMLSchema(str(ENTRY_SCHEMA), defuse="always")
    load = time.perf_counter() - began
    built = fastest(lambda: build(steps, lines, issue_units))
    plan_only = fastest(lambda: work_order_plan(
        plant="BER", part="BK-100", quantity=Decimal(250), unit="pcs", steps=steps, lines=lines,
        units=UNITS, issue_units=issue_units, part_conversions={}))
    lxml_validate = fastest(lambda: validate_xml(document))
    xmlschema_validate = fastest(lambda: slow_schema.is_valid(document.decode()))
    print(f"work order: {LINES:,} mBOM lines, {OPERATIONS} operations, "
          f"{len(document) / 1e6:.1f} MB of B2MML")
    print(f"  build (plan + document + render)  {built * 1000:8.1f} ms  (plan alone "
          f"{plan_only * 1000:.1f} ms)")
    print(f"  validate, lxml (Thread's)         {lxml_validate * 1000:8.1f} ms  "
          f"build/validate = {built / lxml_validate:.1f}")
    print(f"  validate, xmlschema               {xmlschema_validate * 1000:8.1f} ms  "
          f"build/validate = {built / xmlschema_validate:.2f}  (schema load {load:.1f} s)")
    print(f"  build + validate (lxml)           {(built + lxml_validate) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
