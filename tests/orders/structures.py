"""The reference walk the where-used tests check Thread against: every path, enumerated in plain
Python over edges read with the ORM. The deep structures themselves are the benchmark's
(`bench.structures`), so that the tests and the bench measure the same shapes."""

from __future__ import annotations

from thread.bom.models import EBomLine, MBomLine


def reference_edges() -> dict[int, set[int]]:
    """child part id → parent part ids, read plainly: current eBOMs of revisions that are not
    obsolete, and lines (and substituted parts) of current mBOM versions."""
    parents: dict[int, set[int]] = {}
    for line in EBomLine.objects.filter(ebom__is_current=True).exclude(
            ebom__revision__status="obsolete").select_related("ebom__revision"):
        parents.setdefault(line.part_id, set()).add(line.ebom.revision.part_id)
    for line in MBomLine.objects.filter(version__is_current=True).exclude(
            version__mbom__revision__status="obsolete").select_related("version__mbom__revision"):
        for child in (line.part_id, line.substitutes_for_id):
            if child is not None:
                parents.setdefault(child, set()).add(line.version.mbom.revision.part_id)
    return parents


def reference_paths(parents: dict[int, set[int]], start: int) -> set[tuple[int, ...]]:
    """Every path from `start` up to a part with no parents (a parent already on the path is not
    followed), by plain recursion."""
    found = set()

    def walk(path):
        up = [p for p in parents.get(path[-1], ()) if p not in path]
        if not up:
            found.add(path)
        for parent in up:
            walk((*path, parent))

    walk((start,))
    return found
