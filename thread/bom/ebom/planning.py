"""eBOM ingest, step two: check a parsed push against the database and decide every write.

Reads happen in a constant number of queries whatever the size of the push (parts, their unit
conversions, their revisions, the current snapshots, one recursive query for the part graph),
and every check runs in Python over that plain data. The result, a PushPlan, is what the admin
shows as its preview and what `services.ebom_push` writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise

from thread.bom.ebom import selectors
from thread.bom.ebom.ingest import (
    DEFAULT_TOP_UNIT,
    AssemblyIn,
    ParsedPush,
    Problems,
    TooManyErrors,
    fingerprint,
)
from thread.bom.models import EBom
from thread.catalog.choices import MakeOrBuy, RevisionStatus
from thread.catalog.models import Part, PartRevision, PartUnitConversion
from thread.catalog.units import PartConversion, Unit, UnitMismatch, convert
from thread.errors import ErrorItem, InvalidInput, StateConflict

FIRST_REVISION_LABEL = "A"
EMPTY_FINGERPRINT = fingerprint(())


@dataclass(frozen=True, slots=True)
class NewPart:
    number: str
    name: str
    base_unit: str
    make_or_buy: str


@dataclass(slots=True)
class Target:
    """One assembly of the push, resolved to a part revision (existing or to be created)."""

    assembly: AssemblyIn
    part_number: str
    label: str
    revision: PartRevision | None  # None: the push creates it
    current: EBom | None
    new_snapshot: bool = False

    @property
    def next_number(self) -> int:
        return self.current.number + 1 if self.current else 1


@dataclass
class PushPlan:
    parsed: ParsedPush
    parts: dict[str, Part]  # existing parts the push names, by number
    new_parts: list[NewPart]
    targets: list[Target]  # the top first
    to_release: list[Target] = field(default_factory=list)

    @property
    def top(self) -> Target:
        return self.targets[0]

    @property
    def new_revisions(self) -> list[Target]:
        return [t for t in self.targets if t.revision is None]

    @property
    def snapshots(self) -> list[Target]:
        return [t for t in self.targets if t.new_snapshot]

    @property
    def unchanged(self) -> list[Target]:
        return [t for t in self.targets if t.revision is not None and t.assembly.lines is not None
                and not t.new_snapshot]

    @property
    def changes_anything(self) -> bool:
        return bool(self.new_parts or self.new_revisions or self.snapshots or self.to_release)


def plan_push(parsed: ParsedPush, *, units: Mapping[str, Unit], lock: bool) -> PushPlan:
    """Validate `parsed` against the database and decide the writes. `lock` (inside the push's
    transaction) locks the revisions involved, so two pushes of one structure run one after
    the other instead of racing for snapshot numbers."""
    numbers = {a.part for a in parsed.assemblies} | {line.part for line in parsed.lines()}
    parts = {p.number: p for p in Part.objects.filter(number__in=numbers).select_related("base_unit")}
    problems = Problems()
    try:
        new_parts = _new_parts(parsed, parts, units, problems)
        _check_units(parsed, parts, {p.number: p.base_unit for p in new_parts}, units, problems)
        targets = _targets(parsed, parts, problems, lock)
    except TooManyErrors:
        pass
    problems.raise_if_any()
    _check_cycles(parsed, parts, targets)
    _decide_snapshots(targets)
    plan = PushPlan(parsed=parsed, parts=parts, new_parts=new_parts, targets=targets)
    if parsed.release:
        plan.to_release = [t for t in targets
                           if t.revision is None or t.revision.status == RevisionStatus.DRAFT]
    return plan


def _new_parts(parsed: ParsedPush, parts: Mapping[str, Part], units: Mapping[str, Unit],
               problems: Problems) -> list[NewPart]:
    """Parts the push names that do not exist: created in draft (in design), with the unit of
    their first line as base unit and the line's name (else the number)."""
    assemblies = {a.part for a in parsed.assemblies if a.lines}
    base_units: dict[str, str] = {}
    names: dict[str, str] = {}
    if parsed.top.part not in parts:
        top_unit = parsed.top_unit or DEFAULT_TOP_UNIT
        if top_unit not in units:
            problems.add("/unit", "required", f"{parsed.top.part} is a new part: give its base "
                                              "unit in `unit`.")
        base_units[parsed.top.part] = top_unit
        names[parsed.top.part] = parsed.top_name
    for line in parsed.lines():
        if line.part not in parts:
            base_units.setdefault(line.part, line.unit)
            if line.name:
                names.setdefault(line.part, line.name)
    return [NewPart(number=number, name=names.get(number) or number, base_unit=unit,
                    make_or_buy=MakeOrBuy.MAKE if number in assemblies else MakeOrBuy.BUY)
            for number, unit in base_units.items()]


def _check_units(parsed: ParsedPush, parts: Mapping[str, Part], new_base_units: Mapping[str, str],
                 units: Mapping[str, Unit], problems: Problems) -> None:
    conversions: dict[int, list[PartConversion]] = {}
    for part_id, from_unit, to_unit, factor in PartUnitConversion.objects.filter(
            part__in=list(parts.values())).values_list("part_id", "from_unit__code",
                                                       "to_unit__code", "factor"):
        conversions.setdefault(part_id, []).append(PartConversion(from_unit, to_unit, factor))

    def check(pointer: str, unit: str, number: str) -> None:
        part = parts.get(number)
        base = part.base_unit.code if part else new_base_units[number]
        if base not in units:
            return  # a new part without a known unit: refused where its unit is named
        try:
            convert(Decimal(1), unit, base, units, conversions.get(part.pk, ()) if part else ())
        except UnitMismatch:
            problems.add(pointer, "unit_mismatch",
                         f"{unit} ({units[unit].dimension}) cannot be converted to {base} "
                         f"({units[base].dimension}), the base unit of {number}.")

    if parsed.top_unit is not None and parsed.top.part in parts:
        check("/unit", parsed.top_unit, parsed.top.part)
    for line in parsed.lines():
        check(f"{line.pointer}/unit", line.unit, line.part)


def _targets(parsed: ParsedPush, parts: Mapping[str, Part], problems: Problems,
             lock: bool) -> list[Target]:
    """Resolve each assembly to a revision: the label it names (created as a draft if missing),
    else the part's newest draft, else `A` for a part without revisions, else its released
    revision (which then must not change)."""
    revisions = PartRevision.objects.filter(
        part__in=[parts[a.part] for a in parsed.assemblies if a.part in parts]
    ).order_by("part_id", "created_at", "id")
    if lock:
        revisions = revisions.select_for_update()
    by_part: dict[int, list[PartRevision]] = {}
    for revision in revisions:
        by_part.setdefault(revision.part_id, []).append(revision)

    targets: dict[tuple[str, str], Target] = {}
    for assembly in parsed.assemblies:
        part = parts.get(assembly.part)
        existing = by_part.get(part.pk, []) if part else []
        revision, label = _resolve(assembly, existing)
        if label is None:
            problems.add(f"{assembly.pointer}/revision", "required",
                         f"{assembly.part} has no draft or released revision: name the revision.")
            continue
        key = (assembly.part, label)
        first = targets.get(key)
        if first is None or (first.assembly.lines is None and assembly.lines is not None):
            targets[key] = Target(assembly=assembly, part_number=assembly.part, label=label,
                                  revision=revision, current=None)
        elif (assembly.lines is not None and first.assembly.lines is not None
              and assembly.fingerprint != first.assembly.fingerprint):
            problems.add(assembly.lines_pointer, "conflicting_structure",
                         f"{assembly.part} rev {label} is given other lines at "
                         f"{first.assembly.lines_pointer}.")
    current = selectors.current_eboms(
        revision_ids=[t.revision.pk for t in targets.values() if t.revision is not None])
    for target in targets.values():
        if target.revision is not None:
            target.current = current.get(target.revision.pk)
    return list(targets.values())


def _resolve(assembly: AssemblyIn,
             existing: list[PartRevision]) -> tuple[PartRevision | None, str | None]:
    if assembly.revision is not None:
        named = next((r for r in existing if r.label == assembly.revision), None)
        return named, assembly.revision
    drafts = [r for r in existing if r.status == RevisionStatus.DRAFT]
    if drafts:
        return drafts[-1], drafts[-1].label
    if not existing:
        return None, FIRST_REVISION_LABEL
    released = sorted((r for r in existing if r.status == RevisionStatus.RELEASED),
                      key=lambda r: (r.released_at, r.pk))
    return (released[-1], released[-1].label) if released else (None, None)


def _check_cycles(parsed: ParsedPush, parts: Mapping[str, Part], targets: list[Target]) -> None:
    """A part must never contain itself, at any depth, also through eBOMs already stored (of any
    revision that is not obsolete: effectivity may put any of them in one structure)."""
    graph: dict[str, set[str]] = {}
    pushed: dict[tuple[str, str], str] = {}
    replaced = {t.revision.pk for t in targets if t.revision and t.assembly.lines is not None}
    for target in targets:
        for line in target.assembly.lines or ():
            graph.setdefault(target.part_number, set()).add(line.part)
            pushed.setdefault((target.part_number, line.part), line.pointer)
    children = {line.part for t in targets for line in t.assembly.lines or ()}
    for revision_id, parent, child in selectors.structure_edges(
            part_ids=[parts[n].pk for n in children if n in parts]):
        if revision_id not in replaced:
            graph.setdefault(parent, set()).add(child)
    cycle = _find_cycle(graph, [t.part_number for t in targets])
    if cycle is None:
        return
    # Name the deepest pushed line of the cycle: the one that put an ancestor below itself.
    edges = list(pairwise(cycle))
    at = max(i for i, edge in enumerate(edges) if edge in pushed)
    ring = [*cycle[at:-1], *cycle[:at], cycle[at]]
    pointer = f"{pushed[edges[at]]}/part"
    detail = f"This line makes a cycle: {' → '.join(ring)} (a part cannot contain itself)."
    raise InvalidInput(f"{pointer}: {detail}", [ErrorItem(pointer, "cycle", detail)])


def _find_cycle(graph: Mapping[str, set[str]], starts: list[str]) -> list[str] | None:
    """The first cycle met by an iterative depth-first search, as [a, b, …, a]."""
    done: set[str] = set()
    for start in starts:
        if start in done:
            continue
        path, on_path = [start], {start}
        stack = [iter(sorted(graph.get(start, ())))]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
                node = path.pop()
                on_path.discard(node)
                done.add(node)
                continue
            if child in on_path:
                return [*path[path.index(child):], child]
            if child not in done:
                path.append(child)
                on_path.add(child)
                stack.append(iter(sorted(graph.get(child, ()))))
    return None


def _decide_snapshots(targets: list[Target]) -> None:
    """A changed draft gets a new snapshot; identical lines make none; a released revision's
    eBOM never changes (409 naming the first line that would)."""
    frozen_changes: list[Target] = []
    for target in targets:
        assembly = target.assembly
        if assembly.lines is None:
            continue
        current = target.current.fingerprint if target.current else EMPTY_FINGERPRINT
        if assembly.fingerprint == current:
            continue
        if target.revision is not None and target.revision.is_frozen:
            frozen_changes.append(target)
        else:
            target.new_snapshot = True
    if not frozen_changes:
        return
    stored = selectors.ebom_line_contents(
        ebom_ids=[t.current.pk for t in frozen_changes if t.current])
    items = []
    for target in frozen_changes:
        old = {c[0]: c for c in stored.get(target.current.pk, [])} if target.current else {}
        new_lines = sorted(target.assembly.lines, key=lambda line: line.find_number)
        pointer = next((line.pointer for line in new_lines
                        if old.get(line.find_number) != line.content()), target.assembly.lines_pointer)
        detail = (f"{target.part_number} rev {target.label} is "
                  f"{target.revision.get_status_display().lower()}: its eBOM never changes; a "
                  "change comes as a new revision through a change order.")
        items.append(ErrorItem(pointer, "released", detail))
    raise StateConflict(f"{items[0].pointer}: {items[0].detail}", items,
                        code="released-revision-immutable")
