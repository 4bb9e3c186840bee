"""Where-used, multi-level: from parts up to the top-level products that are built from them.

One recursive query walks up from the given parts through two kinds of edge:

* eBOM — a line of the current eBOM snapshot of any revision that is not obsolete
  (parent part ← child part);
* mBOM — a line of the current version of each plant's mBOMs (parent: the mBOM's part), also
  through the part a substitute line stands in for. mBOMs flatten phantoms, so a plant can
  build an assembly directly from a part that the eBOM puts one level lower.

The walk collects the *parts* reached (UNION keeps each once, which is also the cycle guard) and
returns every edge among them with what the pages show (revision, plant, mBOM version). Paths
are not enumerated in SQL: their number grows with the product of the fan-ins, the edges only
with the structure. `UpwardGraph` then answers depths, top-level products, exact path counts
and the paths themselves (capped) in memory.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection

from thread.bom.models import EBom, EBomLine, MBom, MBomLine, MBomVersion
from thread.catalog.choices import RevisionStatus
from thread.catalog.models import Part, PartRevision, Plant

# Paths listed per part; counts stay exact beyond it.
MAX_PATHS = 10_000

EBOM, MBOM = "ebom", "mbom"


@dataclass(frozen=True, slots=True)
class Edge:
    """`parent` is built from `child`: in the eBOM of `revision_label`, or in the current mBOM
    version `mbom_version_id` of that revision at `plant`."""

    child: int
    parent: int
    source: str  # EBOM or MBOM
    revision_id: int
    revision_label: str
    plant_id: int | None = None
    plant: str | None = None
    mbom_version_id: int | None = None
    mbom_version_number: int | None = None


def _parents_of(alias: str) -> str:
    """The edges leaving `alias`.part_id upwards, as a LATERAL subquery (each branch reaches its
    rows through the index on the line's part)."""
    revision = PartRevision._meta.db_table
    ebom, ebom_line = EBom._meta.db_table, EBomLine._meta.db_table
    mbom, version, mbom_line = MBom._meta.db_table, MBomVersion._meta.db_table, \
        MBomLine._meta.db_table
    mbom_branch = f"""
            SELECT r.part_id AS parent_id, '{MBOM}' AS source, r.id AS revision_id,
                   r.label AS revision_label, m.plant_id, v.id AS version_id,
                   v.number AS version_number
            FROM {mbom_line} ml
            JOIN {version} v ON v.id = ml.version_id AND v.is_current
            JOIN {mbom} m ON m.id = v.mbom_id
            JOIN {revision} r ON r.id = m.revision_id AND r.status <> %(obsolete)s"""
    return f"""LATERAL (
            SELECT r.part_id AS parent_id, '{EBOM}' AS source, r.id AS revision_id,
                   r.label AS revision_label, NULL::bigint AS plant_id,
                   NULL::bigint AS version_id, NULL::integer AS version_number
            FROM {ebom_line} l
            JOIN {ebom} e ON e.id = l.ebom_id AND e.is_current
            JOIN {revision} r ON r.id = e.revision_id AND r.status <> %(obsolete)s
            WHERE l.part_id = {alias}.part_id
            UNION ALL {mbom_branch}
            WHERE ml.part_id = {alias}.part_id
            UNION ALL {mbom_branch}
            WHERE ml.substitutes_for_id = {alias}.part_id
        )"""


def where_used_graph(*, part_ids: Iterable[int]) -> UpwardGraph:
    """Everything above `part_ids` in one query: each part reached (with its number) and every
    edge between them."""
    start = sorted(set(part_ids))
    graph = UpwardGraph(start=tuple(start))
    if not start:
        return graph
    part, plant = Part._meta.db_table, Plant._meta.db_table
    if connection.vendor != "postgresql":
        return _where_used_graph_portable(graph, start)
    sql = f"""
        WITH RECURSIVE up(part_id) AS (
            SELECT id FROM {part} WHERE id = ANY(%(start)s::bigint[])
            UNION
            SELECT x.parent_id FROM up CROSS JOIN {_parents_of("up")} x
        )
        SELECT DISTINCT up.part_id, p.number, x.parent_id, x.source, x.revision_id,
               x.revision_label, x.plant_id, pl.code, x.version_id, x.version_number
        FROM up
        JOIN {part} p ON p.id = up.part_id
        LEFT JOIN {_parents_of("up")} x ON true
        LEFT JOIN {plant} pl ON pl.id = x.plant_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"start": start, "obsolete": RevisionStatus.OBSOLETE})
        rows = cursor.fetchall()
    return _fill(graph, rows)


def _fill(graph: UpwardGraph, rows: list[tuple]) -> UpwardGraph:
    for child, number, parent, source, revision_id, label, plant_id, code, version_id, \
            version_number in rows:
        graph.numbers[child] = number
        if parent is not None:
            graph.add(Edge(child=child, parent=parent, source=source, revision_id=revision_id,
                           revision_label=label, plant_id=plant_id, plant=code,
                           mbom_version_id=version_id, mbom_version_number=version_number))
    return graph


@dataclass(frozen=True)
class Ancestor:
    part_id: int
    part: str
    depth: int  # fewest levels above the part
    top_level: bool
    in_ebom: bool  # reached through an eBOM edge
    plants: tuple[str, ...]  # plants whose current mBOMs build it from a part on the way


@dataclass(frozen=True)
class WhereUsed:
    part_id: int
    part: str
    ancestors: tuple[Ancestor, ...]  # by depth, then number
    top_level: tuple[str, ...]  # the products at the ends of the paths (the part itself if none)
    paths: tuple[tuple[str, ...], ...]  # part numbers from the part up to a top-level product
    path_count: int  # exact, also beyond the paths listed
    truncated: bool  # more paths than listed


@dataclass
class UpwardGraph:
    """Parts reached upwards from `start` and the edges between them (several per part pair when
    several revisions or plants hold the same relation)."""

    start: tuple[int, ...]
    numbers: dict[int, str] = field(default_factory=dict)
    edges: dict[int, list[Edge]] = field(default_factory=dict)  # by child
    _parents: dict[int, tuple[int, ...]] = field(default_factory=dict)

    def add(self, edge: Edge) -> None:
        self.edges.setdefault(edge.child, []).append(edge)
        self._parents.pop(edge.child, None)

    def parents(self, part_id: int) -> tuple[int, ...]:
        found = self._parents.get(part_id)
        if found is None:
            found = self._parents[part_id] = tuple(sorted(
                {e.parent for e in self.edges.get(part_id, ())},
                key=lambda p: self.numbers.get(p, "")))
        return found

    def depths(self, part_id: int) -> dict[int, int]:
        """Every ancestor of `part_id` with its fewest levels above it (breadth first)."""
        depth = {part_id: 0}
        queue = deque([part_id])
        while queue:
            here = queue.popleft()
            for parent in self.parents(here):
                if parent not in depth:
                    depth[parent] = depth[here] + 1
                    queue.append(parent)
        del depth[part_id]
        return depth

    def path_count(self, part_id: int) -> int:
        """Paths from `part_id` to a top-level product, counted without listing them. A relation
        that closes a cycle is not followed (as in `paths`)."""
        memo: dict[int, int] = {}

        def count(node: int, on_path: frozenset[int]) -> tuple[int, bool]:
            """(paths from `node` up, whether a cycle was cut above it: then the number depends
            on the path taken to `node` and is not remembered)."""
            if node in memo:
                return memo[node], False
            parents = [p for p in self.parents(node) if p not in on_path]
            cut = len(parents) < len(self.parents(node))
            total = 0
            for parent in parents:
                above, cut_above = count(parent, on_path | {parent})
                total += above
                cut = cut or cut_above
            total = total if parents else 1
            if not cut:
                memo[node] = total
            return total, cut

        return count(part_id, frozenset({part_id}))[0]

    def paths(self, part_id: int, limit: int = MAX_PATHS) -> tuple[list[tuple[int, ...]], bool]:
        """Up to `limit` paths (part ids from `part_id` up to a top-level product), depth first
        in part-number order, and whether there were more. The part on its own is the one path
        of a part used nowhere."""
        found: list[tuple[int, ...]] = []
        stack: list[tuple[int, ...]] = [(part_id,)]
        while stack:
            path = stack.pop()
            parents = [p for p in self.parents(path[-1]) if p not in path]  # cycle guard
            if not parents:
                if len(found) == limit:
                    return found, True
                found.append(path)
                continue
            stack.extend((*path, p) for p in reversed(parents))
        return found, False

    def where_used(self, part_id: int, limit: int = MAX_PATHS) -> WhereUsed:
        depths = self.depths(part_id)
        reached = set(depths) | {part_id}
        paths, truncated = self.paths(part_id, limit)
        tops = sorted({path[-1] for path in paths} | {p for p in depths if not self.parents(p)},
                      key=lambda p: self.numbers.get(p, ""))
        into: dict[int, list[Edge]] = {}
        for child in reached:
            for edge in self.edges.get(child, ()):
                into.setdefault(edge.parent, []).append(edge)
        ancestors = []
        for ancestor, depth in depths.items():
            via = into.get(ancestor, [])
            ancestors.append(Ancestor(
                part_id=ancestor, part=self.numbers.get(ancestor, "?"), depth=depth,
                top_level=not self.parents(ancestor),
                in_ebom=any(e.source == EBOM for e in via),
                plants=tuple(sorted({e.plant for e in via if e.plant}))))
        ancestors.sort(key=lambda a: (a.depth, a.part))
        return WhereUsed(
            part_id=part_id, part=self.numbers.get(part_id, "?"), ancestors=tuple(ancestors),
            top_level=tuple(self.numbers.get(p, "?") for p in tops),
            paths=tuple(tuple(self.numbers.get(p, "?") for p in path) for path in paths),
            path_count=self.path_count(part_id), truncated=truncated)


def _where_used_graph_portable(graph: UpwardGraph, start: list[int]) -> UpwardGraph:
    """The same walk for SQLite (the demo's database), which has recursive queries but neither
    LATERAL nor arrays: the upward edges are one plain CTE over all current eBOM and mBOM lines
    — a full scan, which the demo's size makes cheap; PostgreSQL keeps the indexed walk."""
    part, plant, revision = Part._meta.db_table, Plant._meta.db_table, PartRevision._meta.db_table
    ebom, ebom_line = EBom._meta.db_table, EBomLine._meta.db_table
    mbom, version, mbom_line = MBom._meta.db_table, MBomVersion._meta.db_table, \
        MBomLine._meta.db_table
    mbom_edges = f"""
            SELECT {{child}}, r.part_id, '{MBOM}', r.id, r.label, m.plant_id, v.id, v.number
            FROM {mbom_line} ml
            JOIN {version} v ON v.id = ml.version_id AND v.is_current
            JOIN {mbom} m ON m.id = v.mbom_id
            JOIN {revision} r ON r.id = m.revision_id AND r.status <> %s"""
    placeholders = ", ".join(["%s"] * len(start))
    sql = f"""
        WITH RECURSIVE edges(child_id, parent_id, source, revision_id, revision_label, plant_id,
                             version_id, version_number) AS (
            SELECT l.part_id, r.part_id, '{EBOM}', r.id, r.label, NULL, NULL, NULL
            FROM {ebom_line} l
            JOIN {ebom} e ON e.id = l.ebom_id AND e.is_current
            JOIN {revision} r ON r.id = e.revision_id AND r.status <> %s
            UNION ALL {mbom_edges.format(child="ml.part_id")}
            UNION ALL {mbom_edges.format(child="ml.substitutes_for_id")}
            WHERE ml.substitutes_for_id IS NOT NULL
        ),
        up(part_id) AS (
            SELECT id FROM {part} WHERE id IN ({placeholders})
            UNION
            SELECT edges.parent_id FROM up JOIN edges ON edges.child_id = up.part_id
        )
        SELECT DISTINCT up.part_id, p.number, x.parent_id, x.source, x.revision_id,
               x.revision_label, x.plant_id, pl.code, x.version_id, x.version_number
        FROM up
        JOIN {part} p ON p.id = up.part_id
        LEFT JOIN edges x ON x.child_id = up.part_id
        LEFT JOIN {plant} pl ON pl.id = x.plant_id
    """
    obsolete = RevisionStatus.OBSOLETE
    with connection.cursor() as cursor:
        cursor.execute(sql, [obsolete, obsolete, obsolete, *start])
        rows = cursor.fetchall()
    return _fill(graph, rows)
