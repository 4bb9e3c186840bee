"""map_ebom: walk the eBOM once per made assembly and build its single-level mBOM.

The walk is depth-first in find-number order, so mBOM lines come out in the order of their
find-number paths without sorting, and are made final as they are met: only an assembly where
a consolidate rule merges lines is renumbered. A made subassembly's mBOM is built once, however
often the subassembly is used: its lines' levels count from the subassembly, so nothing in its
mapping depends on where it is used. Rule matching is memoised twice: the candidate rules per
indexed (part, category, item type), and the composed plan per set of matching rules.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import ROUND_CEILING, ROUND_HALF_UP, ROUND_UP, Decimal
from operator import attrgetter
from typing import Any, cast

from thread.catalog.units import UnitMismatch, convert

from .rules import AddItem, CompiledRuleSet, Plan, compile_rules
from .types import (
    BUY,
    COMPONENT,
    MAKE,
    NO_ATTRIBUTES,
    PHANTOM,
    Disposition,
    DispositionKind,
    EBom,
    EBomLine,
    Lineage,
    MappingResult,
    MappingWarning,
    MBom,
    MBomLine,
    PlantContext,
    Rounding,
    Rule,
    RuleSetError,
    StructureError,
)

POSITION_STEP = 10  # ERP item numbers 10, 20, 30 leave room for manual insertions
_FIND_ORDER = attrgetter("find_number", "part", "id")


def map_ebom(ebom: EBom, rules: Sequence[Rule] | CompiledRuleSet,
             context: PlantContext) -> MappingResult:
    """Map `ebom` into the mBOMs of the plant in `context` (see the package docstring).

    Raises RuleSetError if a rule is malformed or names a part or unit this catalog lacks, and
    StructureError if a part contains itself. Everything else that stops a rule from acting on
    a line is a warning in the result, and the line is kept as it was.
    """
    rule_set = rules if isinstance(rules, CompiledRuleSet) else compile_rules(rules)
    errors = rule_set.catalog_errors(context)
    if errors:
        raise RuleSetError(errors)
    with _cyclic_gc_paused():
        return _Mapper(ebom, rule_set, context).run()


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while mapping.

    Mapping keeps a few container objects per line occurrence (mBOM line, lineage, path), and
    CPython's collector answers a fast-growing heap with full collections that each traverse
    the whole heap: at 50,000 lines they took half the run. Mapping creates no reference
    cycles, so reference counting frees everything it discards either way. A collector already
    paused by the caller stays paused.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def consolidate_lines(lines: Sequence[MBomLine]) -> tuple[MBomLine, ...]:
    """Merge every line into the first earlier line with the same `merge_key`, and number the
    lines 10, 20, 30, ... Merging the result again changes nothing."""
    merged = _merge(lines, range(len(lines)))
    return tuple(merged if merged is not None else _numbered(lines))


def merge_key(line: MBomLine) -> tuple[Any, ...]:
    """What two mBOM lines must share to merge: everything an ERP holds per BOM item, so that
    merging never loses a setting; only quantities, designators and lineage add up."""
    erp_fields = line.erp_fields
    return (line.part, line.unit, line.item_type, line.make_or_buy, line.rounding,
            line.scrap_percent, line.yield_percent, line.operation,
            tuple(sorted(erp_fields.items())) if erp_fields else (), line.substitutes_for,
            line.added_by_rule)


def _merge(lines: Sequence[MBomLine], mergeable: Iterable[int]) -> list[MBomLine] | None:
    """Merge each line at an index in `mergeable` (ascending) into the first earlier such line
    with the same key: quantities add up before rounding, designators and lineage join. A merged
    line takes the first line's place; the lines are numbered 10, 20, 30, ... None if no two
    lines merge."""
    indexes = list(mergeable)
    if len({lines[index].part for index in indexes}) == len(indexes):
        return None  # only lines of one part can merge: the common case, decided cheaply
    firsts: dict[tuple[Any, ...], int] = {}
    absorbed: dict[int, list[MBomLine]] = {}  # index of a first line -> the lines merged into it
    gone: set[int] = set()
    for index in indexes:
        first = firsts.setdefault(merge_key(lines[index]), index)
        if first != index:
            absorbed.setdefault(first, [lines[first]]).append(lines[index])
            gone.add(index)
    if not gone:
        return None
    return _numbered([_combined(absorbed[index]) if index in absorbed else line
                      for index, line in enumerate(lines) if index not in gone])


def _numbered(lines: Sequence[MBomLine]) -> list[MBomLine]:
    return [line if line.position == (index + 1) * POSITION_STEP
            else line._replace(position=(index + 1) * POSITION_STEP)
            for index, line in enumerate(lines)]


def _combined(group: list[MBomLine]) -> MBomLine:
    first = group[0]
    quantity = first.unrounded_quantity
    for other in group[1:]:
        quantity += other.unrounded_quantity
    paths = tuple(path for line in group for path in line.lineage.paths)
    return first._replace(
        unrounded_quantity=quantity,
        quantity=round_quantity(quantity, first.rounding) if first.rounding else quantity,
        reference_designators=tuple(designator for line in group
                                    for designator in line.reference_designators),
        lineage=Lineage(
            tuple(dict.fromkeys(line_id for path in paths for line_id in path)),
            tuple(dict.fromkeys(rule_id for line in group for rule_id in line.lineage.rule_ids)),
            paths))


def round_quantity(quantity: Decimal, rounding: Rounding) -> Decimal:
    """`quantity` rounded as `rounding` says: up to a multiple (never down), or to a number of
    decimals away from zero ("up") or to the nearest, halves away from zero ("half_up")."""
    if rounding.multiple is not None:
        steps = (quantity / rounding.multiple).to_integral_value(rounding=ROUND_CEILING)
        return steps * rounding.multiple
    mode = ROUND_UP if rounding.mode == "up" else ROUND_HALF_UP
    return quantity.quantize(Decimal(1).scaleb(-(rounding.decimals or 0)), rounding=mode)


def _ordered_children(ebom: EBom) -> dict[str, tuple[EBomLine, ...]]:
    """The children of every assembly reachable from the root, in (find number, part, id)
    order; leaves have no entry. Raises StructureError if a part contains itself."""
    lines_by_parent = ebom.lines_by_parent

    def ordered(part: str) -> tuple[EBomLine, ...]:
        return tuple(sorted(lines_by_parent[part], key=_FIND_ORDER))

    children: dict[str, tuple[EBomLine, ...]] = {}
    if not lines_by_parent.get(ebom.root_part):
        return children
    children[ebom.root_part] = ordered(ebom.root_part)
    on_path = {ebom.root_part}
    stack = [(ebom.root_part, iter(children[ebom.root_part]))]
    while stack:
        part, pending = stack[-1]
        for line in pending:
            child = line.part
            if child in on_path:
                raise StructureError(f"part {child} contains itself (eBOM line {line.id} "
                                     f"under {part})")
            if child not in children and lines_by_parent.get(child):
                children[child] = ordered(child)
                on_path.add(child)
                stack.append((child, iter(children[child])))
                break
        else:
            stack.pop()
            on_path.discard(part)
    return children


class _Mapper:
    def __init__(self, ebom: EBom, rule_set: CompiledRuleSet, context: PlantContext) -> None:
        self.ebom = ebom
        self.rule_set = rule_set
        self.context = context
        self.children = _ordered_children(ebom)
        self.set_aside: list[Disposition] = []
        self.warnings: dict[tuple[Any, ...], MappingWarning] = {}
        self.queue: deque[tuple[str, str, str]] = deque()
        self.queued: set[str] = set()
        # Per subassembly part: make/buy as resolved at each use, and the first line that did.
        self.make_or_buy_used: dict[str, dict[str, int]] = {}
        self.measurable: dict[tuple[str, str], bool] = {}

    def run(self) -> MappingResult:
        ebom = self.ebom
        self._enqueue(ebom.root_part, ebom.root_base_unit, ebom.root_category)
        mboms: dict[str, MBom] = {}
        while self.queue:
            part, base_unit, category = self.queue.popleft()
            mboms[part] = self._map_assembly(part, base_unit, category)
        for part, uses in self.make_or_buy_used.items():
            if len(uses) > 1:
                self._warn("make_or_buy_differs",
                           f"{part} is made at eBOM line {uses[MAKE]} and bought at eBOM line "
                           f"{uses[BUY]}; its mBOM is built and used where it is made",
                           line_id=uses[BUY])
        return MappingResult(plant=self.context.plant, root_part=ebom.root_part, mboms=mboms,
                             set_aside=tuple(self.set_aside),
                             warnings=tuple(self.warnings.values()))

    # -- one made assembly --------------------------------------------------------------------

    def _map_assembly(self, part: str, base_unit: str, category: str) -> MBom:
        lines: list[MBomLine] = []
        mergeable: list[int] = []
        if part in self.children:
            self._walk(part, None, 1, (), (), category, lines, mergeable, part)
        if mergeable:
            lines = _merge(lines, mergeable) or lines
        self._add_items(part, base_unit, category, lines)
        if not lines:
            self._warn("empty_mbom", f"made assembly {part} has no mBOM lines", assembly=part)
        return MBom(part, base_unit, tuple(lines))

    def _walk(self, parent: str, multiplier: Decimal | None, level: int, path: tuple[int, ...],
              flattened_by: tuple[int, ...], parent_category: str, lines: list[MBomLine],
              mergeable: list[int], assembly: str) -> None:
        """Map the children of `parent` onto `lines`, noting in `mergeable` the indexes of lines
        a consolidate rule matched. `multiplier` (None for 1) is the quantity of `parent` per
        assembly when `parent` was flattened; `flattened_by` are the flatten rules on the way
        down, which every line fed from here shows in its lineage."""
        children = self.children
        candidates_for = self.rule_set.candidates
        part_index, category_index, type_index, by_key = self.rule_set.index
        for line in children[parent]:
            occurrence = (*path, line.id)
            # Inlined, as this loop runs once per line occurrence: the rules that can match (by
            # the index key, as CompiledRuleSet.candidates computes it, which builds missing
            # entries), those of them that need a test and pass it, and their composed effect.
            part, category, item_type = line.part, line.part_category, line.item_type
            candidates = by_key.get((part if part in part_index else None,
                                     category if category in category_index else None,
                                     item_type if item_type in type_index else None)
                                    ) or candidates_for(line)
            hits: tuple[int, ...] = ()
            for index, test in candidates.tested:  # a loop here costs no frame, unlike a listcomp
                if test(line, level, parent_category):
                    hits += (index,)
            plan = candidates.plans.get(hits) or candidates.plan(hits)
            if plan.exclude_rule is not None:
                self.set_aside.append(Disposition("excluded", assembly, occurrence,
                                                  rule_id=plan.exclude_rule))
                if line.part in children:
                    self._dispose_below(line.part, occurrence, "excluded", assembly,
                                        plan.exclude_rule, None)
                continue
            if line.item_type == PHANTOM or plan.flatten_rule is not None:
                per_parent = self._flatten_quantity(line, plan, assembly)
                if per_parent is not None:
                    self.set_aside.append(Disposition("flattened", assembly, occurrence,
                                                      rule_id=plan.flatten_rule))
                    if plan.flatten_rule is not None:
                        flattened = (*flattened_by, plan.flatten_rule)
                    else:
                        flattened = flattened_by
                    self._walk(line.part, per_parent if multiplier is None
                               else multiplier * per_parent, level + 1, occurrence,
                               flattened, line.part_category, lines, mergeable, assembly)
                    continue
            if plan.consolidate:
                mergeable.append(len(lines))
            lines.append(self._component(line, occurrence, multiplier, plan, flattened_by,
                                         (len(lines) + 1) * POSITION_STEP, assembly))

    def _flatten_quantity(self, line: EBomLine, plan: Plan, assembly: str) -> Decimal | None:
        """The line's quantity in its part's base unit (what its children are per), or None if
        it cannot be flattened; then it stays a component line and a warning says why."""
        if line.part not in self.children:
            self._warn("nothing_to_flatten",
                       f"{line.part} has no eBOM children to flatten; kept as a component",
                       assembly, line.id, plan.flatten_rule)
            return None
        if line.unit == line.part_base_unit:
            return line.quantity
        try:
            return convert(line.quantity, line.unit, line.part_base_unit, self.context.units,
                           self.context.part_conversions.get(line.part, ()))
        except UnitMismatch as error:
            self._warn("flatten_unit_mismatch",
                       f"cannot flatten {line.part}: {error}; kept as a component",
                       assembly, line.id, plan.flatten_rule)
            return None

    def _component(self, line: EBomLine, occurrence: tuple[int, ...],
                   multiplier: Decimal | None, plan: Plan, flattened_by: tuple[int, ...],
                   position: int, assembly: str) -> MBomLine:
        """The mBOM line of an eBOM line that stays a line, with the plan's actions applied in
        their fixed order: substitute, make/buy, unit conversion, scrap, rounding."""
        context = self.context
        quantity = line.quantity if multiplier is None else line.quantity * multiplier
        part, unit = line.part, line.unit
        base_unit, default_make_or_buy = line.part_base_unit, line.part_make_or_buy
        rule_ids = plan.rule_ids
        substitutes_for = None
        has_children = part in self.children
        if plan.substitute is not None:
            substitute = plan.substitute
            if has_children:
                self._warn("substitute_on_assembly",
                           f"{part} has eBOM children; substitute {substitute.part} not applied",
                           assembly, line.id, plan.substitute_rule)
            elif not self._measures(unit, substitute.part):
                self._warn("substitute_unit_mismatch",
                           f"{unit} cannot measure substitute {substitute.part}; kept {part}",
                           assembly, line.id, plan.substitute_rule)
            else:
                substitutes_for, part = part, substitute.part
                quantity *= substitute.factor
                known = context.known_parts[part]
                base_unit, default_make_or_buy = known.base_unit, known.make_or_buy
            if substitutes_for is None:
                rule_ids = tuple(i for i in rule_ids if i != plan.substitute_rule)
        plant_part = context.plant_parts.get(part)
        make_or_buy = plan.make_or_buy or (plant_part.make_or_buy if plant_part else "") \
            or default_make_or_buy
        if plant_part is not None and not plant_part.active:
            self._warn("inactive_at_plant", f"{part} is not active at plant {context.plant}",
                       assembly, line.id)
        rounding = None
        if plan.convert is not None:
            target = plan.convert.unit or (plant_part.unit if plant_part else None) or base_unit
            try:
                if target != unit:
                    quantity = convert(quantity, unit, target, context.units,
                                       context.part_conversions.get(part, ()))
                    unit = target
                rounding = plan.convert.rounding
            except UnitMismatch as error:
                self._warn("conversion_impossible", f"{part}: {error}; quantity kept in {unit}",
                           assembly, line.id, plan.convert_rule)
                rule_ids = tuple(i for i in rule_ids if i != plan.convert_rule)
        scrap = plan.scrap
        if scrap is not None:
            quantity *= scrap.factor
        # Positional, in MBomLine's field order: this runs once per line occurrence, and
        # binding sixteen keywords costs more than twice as much.
        mbom_line = MBomLine(
            position, part, round_quantity(quantity, rounding) if rounding else quantity, unit,
            line.item_type, make_or_buy,
            Lineage(occurrence, (*flattened_by, *rule_ids) if flattened_by else rule_ids),
            quantity, rounding, scrap.scrap_percent if scrap is not None else None,
            scrap.yield_percent if scrap is not None else None, plan.operation, plan.erp_fields,
            line.reference_designators, substitutes_for, None)
        if has_children:
            self.make_or_buy_used.setdefault(part, {}).setdefault(make_or_buy, line.id)
            if make_or_buy == BUY:
                self._dispose_below(part, occurrence, "inside_bought", assembly, None, line.id)
            else:
                self._enqueue(part, line.part_base_unit, line.part_category)
        return mbom_line

    def _add_items(self, part: str, base_unit: str, category: str,
                   lines: list[MBomLine]) -> None:
        """Append the add_item rules' lines for this assembly, in rule order. Their condition
        tests the assembly itself, as a level-0 line without parent."""
        header: EBomLine | None = None
        indexed = {"part": part, "category": category, "item_type": COMPONENT}
        for rule in self.rule_set.assembly_rules:
            condition = rule.condition
            # The index pins decide most add_item conditions without the header line (a
            # frozen dataclass: not free to build for every assembly).
            if any(indexed[field] not in values for field, values in condition.pins.items()):
                continue
            if not condition.pin_decides:
                if header is None:
                    header = EBomLine(
                        id=0, parent_part="", find_number=0, part=part, quantity=Decimal(1),
                        unit=base_unit, part_base_unit=base_unit, item_type=COMPONENT,
                        attributes=self.ebom.revision_attributes.get(part, NO_ATTRIBUTES),
                        part_category=category)
                if not condition.test(header, 0, ""):
                    continue
            spec = cast(AddItem, rule.spec)
            known = self.context.known_parts[spec.part]
            plant_part = self.context.plant_parts.get(spec.part)
            if plant_part is not None and not plant_part.active:
                self._warn("inactive_at_plant",
                           f"{spec.part} is not active at plant {self.context.plant}", part,
                           rule_id=rule.rule_id)
            lines.append(MBomLine(
                position=(len(lines) + 1) * POSITION_STEP, part=spec.part, quantity=spec.quantity,
                unit=spec.unit, item_type=spec.item_type,
                make_or_buy=(plant_part.make_or_buy if plant_part else "") or known.make_or_buy,
                lineage=Lineage((), (rule.rule_id,)), unrounded_quantity=spec.quantity,
                added_by_rule=rule.rule_id))

    # -- bookkeeping --------------------------------------------------------------------------

    def _dispose_below(self, part: str, path: tuple[int, ...], kind: DispositionKind,
                       assembly: str, rule_id: int | None, bought_line_id: int | None) -> None:
        """Give every occurrence below `part` (reached along `path`) the same fate."""
        for line in self.children[part]:
            occurrence = (*path, line.id)
            self.set_aside.append(Disposition(kind, assembly, occurrence, rule_id=rule_id,
                                              bought_line_id=bought_line_id))
            if line.part in self.children:
                self._dispose_below(line.part, occurrence, kind, assembly, rule_id,
                                    bought_line_id)

    def _enqueue(self, part: str, base_unit: str, category: str) -> None:
        if part not in self.queued:
            self.queued.add(part)
            self.queue.append((part, base_unit, category))

    def _measures(self, unit: str, part: str) -> bool:
        """Whether a quantity in `unit` can be expressed in `part`'s base unit."""
        key = (unit, part)
        found = self.measurable.get(key)
        if found is None:
            context = self.context
            try:
                convert(Decimal(1), unit, context.known_parts[part].base_unit, context.units,
                        context.part_conversions.get(part, ()))
                found = True
            except UnitMismatch:
                found = False
            self.measurable[key] = found
        return found

    def _warn(self, code: str, message: str, assembly: str | None = None,
              line_id: int | None = None, rule_id: int | None = None) -> None:
        """Record a warning once, however many occurrences of a shared line raise it."""
        key = (code, assembly, line_id, rule_id)
        if key not in self.warnings:
            self.warnings[key] = MappingWarning(code, message, assembly, line_id, rule_id)
