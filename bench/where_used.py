"""Where-used on a deep structure: Thread's recursive query plus the in-memory answer (depths,
top-level products, exact path count, the first 10,000 paths) against a bare Python walk over
the same edges loaded into memory with one plain query.

The structure: a leaf under 8 levels of W assemblies, each built from all W below (W ** 8
paths), in a catalogue with 2,000 unrelated assemblies of 20 lines each (40,000 more lines).
Tables are analysed after the load (as autovacuum would), so the planner sees their sizes.
Runs in a throwaway test database (test_<name> of DATABASE_URL, created and dropped here).
Usage: DATABASE_URL=postgres://… ./run bench where_used
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_databases, teardown_databases  # noqa: E402

ROUNDS = 5


def best(action) -> tuple[float, int, object]:
    """Best of ROUNDS (seconds), the queries of one round, and the last result."""
    times, queries, result = [], 0, None
    for _ in range(ROUNDS):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            result = action()
            times.append(time.perf_counter() - start)
        queries = len(captured.captured_queries)
    return min(times), queries, result


def bare_walk(leaf_id: int) -> tuple[int, int]:
    """Load every edge (one query), then ancestors and the path count in plain Python."""
    from thread.bom.models import EBomLine, MBomLine

    parents: dict[int, set[int]] = {}
    for child, parent in (EBomLine.objects.filter(ebom__is_current=True)
                          .exclude(ebom__revision__status="obsolete")
                          .values_list("part_id", "ebom__revision__part_id")):
        parents.setdefault(child, set()).add(parent)
    for child, parent in (MBomLine.objects.filter(version__is_current=True)
                          .values_list("part_id", "version__mbom__revision__part_id")):
        parents.setdefault(child, set()).add(parent)
    counts: dict[int, int] = {}

    def count(node: int) -> int:
        if node not in counts:
            above = parents.get(node, ())
            counts[node] = sum(count(p) for p in above) if above else 1
        return counts[node]

    seen, stack = set(), [leaf_id]
    while stack:
        for parent in parents.get(stack.pop(), ()):
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return len(seen), count(leaf_id)


def main() -> None:
    from bench.structures import deep_structure
    from thread.bom.mbom.where_used import where_used_graph
    from thread.catalog import services as catalog

    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        catalog.unit_create(code="pcs", name="pieces", dimension="count", factor=1, actor=None,
                            reason="bench")
        print(f"{'case':<34} {'Thread (CTE + memory)':>22} {'bare walk':>12} {'ratio':>7}")
        for index, width in enumerate((4, 5)):
            deep = deep_structure(levels=8, width=width, prefix=f"W{width}",
                                  noise=2000 if index == 0 else 0)
            leaf = deep["leaf"].pk
            with connection.cursor() as cursor:
                # What autovacuum does soon after a load; without statistics the planner takes
                # the fresh tables for empty and scans them whole at each level (about 0.9 s).
                cursor.execute("ANALYZE")

            def thread(leaf=leaf):
                used = where_used_graph(part_ids=[leaf]).where_used(leaf)
                return len(used.ancestors), used.path_count

            ours, our_queries, (ancestors, paths) = best(thread)
            bare, bare_queries, expected = best(lambda leaf=leaf: bare_walk(leaf))
            assert (ancestors, paths) == expected, ((ancestors, paths), expected)
            label = f"W={width}: {paths:,} paths, {ancestors} ancestors"
            print(f"{label:<34} {ours * 1000:9.1f} ms ({our_queries} q) "
                  f"{bare * 1000:8.1f} ms ({bare_queries} q) {bare / ours:6.1f}x")
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM bom_ebomline")
            print(f"eBOM lines in the database: {cursor.fetchone()[0]:,}")
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    main()
