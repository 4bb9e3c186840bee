"""What a change changes, over plain data (no ORM): the eBOM diff of an affected item (old
revision's lines against the new revision's) and the per-assembly mBOM diffs of two mapping
results. mBOM lines are compared by `thread.bom.mbom.diff`, the one mBOM comparison of Thread.

eBOM lines are matched by part, not by find number, so that a renumbered line shows as a
changed find number rather than as one line removed and another added. A part on several
lines is paired first where the find numbers agree, then in find-number order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from thread.bom.engine import MappingResult, MBom
from thread.bom.mbom.diff import Change, LineData, MBomDiff, diff_lines

EBOM_COMPARED = ("find_number", "quantity", "unit", "item_type", "reference_designators")

DiffKind = Literal["added", "removed", "changed", "unchanged"]


@dataclass(frozen=True, slots=True)
class EBomLineData:
    find_number: int
    part: str
    quantity: Decimal
    unit: str
    item_type: str
    reference_designators: tuple[str, ...] = ()
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EBomDiffEntry:
    kind: DiffKind
    old: EBomLineData | None
    new: EBomLineData | None
    changes: tuple[Change, ...] = ()

    @property
    def line(self) -> EBomLineData:
        return self.new if self.new is not None else self.old  # type: ignore[return-value]


@dataclass(frozen=True)
class EBomDiff:
    entries: tuple[EBomDiffEntry, ...]

    def summary(self) -> dict[str, int]:
        counts = {"added": 0, "removed": 0, "changed": 0, "unchanged": 0}
        for entry in self.entries:
            counts[entry.kind] += 1
        return counts

    @property
    def is_empty(self) -> bool:
        return all(entry.kind == "unchanged" for entry in self.entries)


def ebom_line_changes(old: EBomLineData, new: EBomLineData) -> tuple[Change, ...]:
    """The fields that differ; attributes key by key (`attributes.<name>`), so a reviewer sees
    which attribute changed, not two whole objects."""
    changes = [Change(name, getattr(old, name), getattr(new, name)) for name in EBOM_COMPARED
               if getattr(old, name) != getattr(new, name)]
    for key in sorted(set(old.attributes) | set(new.attributes)):
        before, after = old.attributes.get(key), new.attributes.get(key)
        if before != after:
            changes.append(Change(f"attributes.{key}", before, after))
    return tuple(changes)


def ebom_diff(old: Sequence[EBomLineData], new: Sequence[EBomLineData]) -> EBomDiff:
    """Entries in the new eBOM's find-number order (added, changed, unchanged), then the
    removed lines in the old eBOM's order."""
    waiting: dict[str, list[EBomLineData]] = {}
    for line in sorted(old, key=lambda line: line.find_number):
        waiting.setdefault(line.part, []).append(line)
    ordered_new = sorted(new, key=lambda line: line.find_number)
    pairs: dict[int, EBomLineData] = {}  # index in ordered_new -> its old line
    for exact in (True, False):
        for index, line in enumerate(ordered_new):
            candidates = waiting.get(line.part)
            if index in pairs or not candidates:
                continue
            match = next((c for c in candidates if c.find_number == line.find_number), None) \
                if exact else candidates[0]
            if match is not None:
                candidates.remove(match)
                pairs[index] = match
    entries = []
    for index, line in enumerate(ordered_new):
        previous = pairs.get(index)
        if previous is None:
            entries.append(EBomDiffEntry("added", None, line))
            continue
        changes = ebom_line_changes(previous, line)
        entries.append(EBomDiffEntry("changed" if changes else "unchanged", previous, line,
                                     changes))
    removed = sorted((line for lines in waiting.values() for line in lines),
                     key=lambda line: line.find_number)
    entries.extend(EBomDiffEntry("removed", line, None) for line in removed)
    return EBomDiff(tuple(entries))


@dataclass(frozen=True)
class AssemblyDiff:
    """One made assembly's mBOM at a plant, before and after: `kind` added (only the new
    structure makes it), removed (only the old), changed or unchanged."""

    part: str
    kind: DiffKind
    diff: MBomDiff


def mbom_line_data(mbom: MBom) -> list[LineData]:
    return [LineData(position=line.position, part=line.part, quantity=line.quantity,
                     unit=line.unit, item_type=line.item_type, make_or_buy=line.make_or_buy,
                     scrap_percent=line.scrap_percent, yield_percent=line.yield_percent,
                     operation=line.operation, erp_fields=dict(line.erp_fields),
                     substitutes_for=line.substitutes_for, added_by_rule=line.added_by_rule,
                     reference_designators=line.reference_designators,
                     lineage={"paths": [list(p) for p in line.lineage.paths],
                              "rule_ids": list(line.lineage.rule_ids)})
            for line in mbom.lines]


def mapping_diff(old: MappingResult | None, new: MappingResult | None) -> list[AssemblyDiff]:
    """Per made assembly, the mBOM diff between two mappings of one part at one plant (either
    may be missing: a part added or removed). The top assembly first, then by part number."""
    before = dict(old.mboms) if old else {}
    after = dict(new.mboms) if new else {}
    root = (new or old).root_part if (new or old) else ""
    diffs = []
    for part in sorted(set(before) | set(after), key=lambda p: (p != root, p)):
        diff = diff_lines(mbom_line_data(before[part]) if part in before else [],
                          mbom_line_data(after[part]) if part in after else [])
        kind: DiffKind = ("added" if part not in before else "removed" if part not in after
                          else "unchanged" if diff.is_empty else "changed")
        diffs.append(AssemblyDiff(part=part, kind=kind, diff=diff))
    return diffs
