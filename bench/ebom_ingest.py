"""eBOM ingest at the size limit: a 50,000-line, 4-level structure pushed through the service.

Runs in a throwaway test database (test_<name> of DATABASE_URL, created and dropped here).
Baseline: a bare bulk_create of the same 50,000 line rows, the least any ingest must spend.
Usage: DATABASE_URL=postgres://… ./run bench ebom_ingest
"""

import os
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_databases, teardown_databases  # noqa: E402

LINES = 50_000
ASSEMBLIES = 250  # under 10 modules, each with 25 sub-assemblies of ~199 leaf lines


def structure(quantity: str = "2") -> dict:
    per_assembly = (LINES - 10 - ASSEMBLIES) // ASSEMBLIES
    modules = []
    for m in range(10):
        subs = []
        for s in range(ASSEMBLIES // 10):
            # Half the leaves are shared across assemblies (fasteners), half are their own.
            leaves = [{"find_number": n, "part": f"P-{n}" if n % 2 else f"P-{m}-{s}-{n}",
                       "quantity": quantity, "unit": "pcs", "item_type": "component",
                       "attributes": {"material": "AL6061"}}
                      for n in range(1, per_assembly + 1)]
            subs.append({"find_number": s + 1, "part": f"SUB-{m}-{s}", "quantity": "1",
                         "unit": "pcs", "item_type": "component", "lines": leaves})
        modules.append({"find_number": m + 1, "part": f"MOD-{m}", "quantity": "1",
                        "unit": "pcs", "item_type": "phantom" if m == 9 else "component",
                        "lines": subs})
    return {"part": "BENCH-TOP", "revision": "A", "lines": modules}


def count(lines: list) -> int:
    return sum(1 + count(line.get("lines", [])) for line in lines)


def timed(label: str, action) -> object:
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        result = action()
        elapsed = time.perf_counter() - start
    print(f"{label:<42} {elapsed:7.2f} s  {len(queries.captured_queries):4d} queries")
    return elapsed, result


def main() -> None:
    from thread.bom.ebom.services import ebom_push
    from thread.bom.models import EBom, EBomLine
    from thread.catalog import services as catalog
    from thread.catalog.models import Part

    catalog.unit_create(code="pcs", name="pieces", dimension="count", factor=Decimal(1),
                        actor=None, reason="bench")
    body = structure()
    print(f"{count(body['lines'])} lines, {ASSEMBLIES + 11} assemblies, 4 levels")

    def push(payload, reason):
        return lambda: ebom_push(payload=payload, actor=None, reason=reason)

    first, result = timed("first push (all parts and revisions new)", push(body, "bench"))
    assert sum(e.line_count for e in result.snapshots) == count(body["lines"])
    timed("same push again (nothing to write)", push(body, "bench again"))
    timed("every line changed (new snapshots)", push(structure("3"), "bench change"))

    lines = list(EBomLine.objects.filter(ebom__is_current=True).values(
        "ebom_id", "find_number", "part_id", "quantity", "unit_id", "item_type", "attributes"))
    with transaction.atomic():
        originals = EBom.objects.filter(pk__in={row["ebom_id"] for row in lines})
        copies = {e.pk: EBom(revision_id=e.revision_id, number=e.number + 100, is_current=False,
                             reason="baseline", line_count=e.line_count,
                             fingerprint=e.fingerprint) for e in originals}
        EBom.objects.bulk_create(copies.values())

        def bare_insert():
            EBomLine.objects.bulk_create(
                [EBomLine(**{**row, "ebom_id": copies[row["ebom_id"]].pk}) for row in lines],
                batch_size=2000)

        baseline, _ = timed("baseline: bare bulk_create of the lines", bare_insert)
        transaction.set_rollback(True)
    print(f"first push / baseline: {first / baseline:.1f}x  ({Part.objects.count()} parts, "
          f"{EBom.objects.count()} snapshots)")


if __name__ == "__main__":
    names = setup_databases(verbosity=0, interactive=False)
    try:
        main()
    finally:
        teardown_databases(names, verbosity=0)
