"""What changed between two mBOMs, over plain line data (no ORM): the analyst's preview and the
version-to-version comparison both use it.

Lines are matched by identity, not by position: (part, the part it substitutes for, whether a
rule added it). Positions move whenever a line is inserted above, so comparing them would mark
every later line as changed. Several lines with the same identity (the same screw at two
operations) are paired in the order they occur. A matched pair is "changed" when anything an
ERP holds per BOM item differs (`COMPARED`); reference designators and lineage are shown, never
compared.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

COMPARED = ("quantity", "unit", "make_or_buy", "operation", "scrap_percent", "yield_percent",
            "item_type", "erp_fields")

DiffKind = Literal["added", "removed", "changed", "unchanged"]


@dataclass(frozen=True, slots=True)
class LineData:
    """One mBOM line as the diff and the pages see it. `lineage` is the stored shape:
    {"paths": [[eBOM line ids]], "rule_ids": [...]}."""

    position: int
    part: str
    quantity: Decimal
    unit: str
    item_type: str
    make_or_buy: str
    scrap_percent: Decimal | None = None
    yield_percent: Decimal | None = None
    operation: str = ""
    erp_fields: Mapping[str, Any] = field(default_factory=dict)
    substitutes_for: str | None = None
    added_by_rule: int | None = None
    reference_designators: tuple[str, ...] = ()
    lineage: Mapping[str, Any] = field(default_factory=dict)

    @property
    def identity(self) -> tuple[str, str | None, bool]:
        return (self.part, self.substitutes_for, self.added_by_rule is not None)


@dataclass(frozen=True, slots=True)
class Change:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class DiffEntry:
    kind: DiffKind
    old: LineData | None
    new: LineData | None
    changes: tuple[Change, ...] = ()

    @property
    def line(self) -> LineData:
        """The line to show: the new one, or the old one if it was removed."""
        return self.new if self.new is not None else self.old  # type: ignore[return-value]


@dataclass(frozen=True)
class MBomDiff:
    entries: tuple[DiffEntry, ...]

    def count(self, kind: DiffKind) -> int:
        return sum(1 for entry in self.entries if entry.kind == kind)

    @property
    def added(self) -> int:
        return self.count("added")

    @property
    def removed(self) -> int:
        return self.count("removed")

    @property
    def changed(self) -> int:
        return self.count("changed")

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def summary(self) -> dict[str, int]:
        return {"added": self.added, "removed": self.removed, "changed": self.changed,
                "unchanged": self.count("unchanged")}


def _comparable(value: Any) -> Any:
    # Decimal("1.0") == Decimal("1") already; erp_fields compare as plain dicts.
    return dict(value) if isinstance(value, Mapping) else value


def line_changes(old: LineData, new: LineData) -> tuple[Change, ...]:
    return tuple(Change(name, getattr(old, name), getattr(new, name)) for name in COMPARED
                 if _comparable(getattr(old, name)) != _comparable(getattr(new, name)))


def diff_lines(old: Sequence[LineData], new: Sequence[LineData]) -> MBomDiff:
    """Entries in the new mBOM's order (added, changed or unchanged), then the removed lines in
    the old mBOM's order."""
    waiting: dict[tuple, list[LineData]] = {}
    for line in sorted(old, key=lambda line: line.position):
        waiting.setdefault(line.identity, []).append(line)
    entries: list[DiffEntry] = []
    for line in sorted(new, key=lambda line: line.position):
        candidates = waiting.get(line.identity)
        if not candidates:
            entries.append(DiffEntry("added", None, line))
            continue
        previous = candidates.pop(0)
        changes = line_changes(previous, line)
        entries.append(DiffEntry("changed" if changes else "unchanged", previous, line, changes))
    removed = sorted((line for lines in waiting.values() for line in lines),
                     key=lambda line: line.position)
    entries.extend(DiffEntry("removed", line, None) for line in removed)
    return MBomDiff(tuple(entries))

