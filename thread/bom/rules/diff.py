"""What one rule-set version changes against another, over plain rules (anything with `id`,
`order`, `name`, `action`, `condition`, `params`, `enabled`, such as `engine.Rule`): rules added,
removed, moved and changed, with the changed fields side by side. No database here.

A draft's rules are copies of its base version's (new rows), so rules are matched by name — in
order, for names used twice — and then, among the rest, by identical content (a renamed rule).
A rule is *moved* when the run order of the matched rules changed around it: the longest common
run order is kept, the rules outside it moved.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

COMPARED = ("name", "action", "condition", "params", "enabled")


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class RuleChange:
    kind: str  # "added", "removed", "moved", "changed", "unchanged"
    old: Any | None  # the rule in the older version
    new: Any | None  # the rule in the newer version
    moved: bool = False  # its place in the run order changed (with or without other changes)
    fields: tuple[FieldChange, ...] = ()

    @property
    def name(self) -> str:
        return (self.new or self.old).name


@dataclass(frozen=True)
class RuleSetDiff:
    changes: tuple[RuleChange, ...]  # in the newer version's run order, removed ones last

    def count(self, kind: str) -> int:
        return sum(1 for change in self.changes if change.kind == kind)

    @property
    def summary(self) -> dict[str, int]:
        return {kind: self.count(kind) for kind in ("added", "removed", "moved", "changed")}

    @property
    def unchanged(self) -> bool:
        return all(change.kind == "unchanged" for change in self.changes)


def rule_set_diff(old: Sequence[Any], new: Sequence[Any]) -> RuleSetDiff:
    old, new = _in_run_order(old), _in_run_order(new)
    pairs = _match(old, new)
    partner = {id(n): o for o, n in pairs}
    kept = _kept_in_order(old, new, pairs)
    changes = []
    for rule in new:
        before = partner.get(id(rule))
        if before is None:
            changes.append(RuleChange("added", None, rule))
            continue
        fields = tuple(FieldChange(f, getattr(before, f), getattr(rule, f)) for f in COMPARED
                       if getattr(before, f) != getattr(rule, f))
        moved = id(rule) not in kept
        kind = "changed" if fields else "moved" if moved else "unchanged"
        changes.append(RuleChange(kind, before, rule, moved=moved, fields=fields))
    matched_old = {id(o) for o, _ in pairs}
    changes += [RuleChange("removed", rule, None) for rule in old if id(rule) not in matched_old]
    return RuleSetDiff(changes=tuple(changes))


def _in_run_order(rules: Sequence[Any]) -> list[Any]:
    return sorted(rules, key=lambda rule: (rule.order, rule.id))


def _content(rule: Any) -> tuple:
    return (rule.action, repr(rule.condition), repr(rule.params), rule.enabled)


def _match(old: list[Any], new: list[Any]) -> list[tuple[Any, Any]]:
    by_name: dict[str, list[Any]] = defaultdict(list)
    for rule in old:
        by_name[rule.name].append(rule)
    pairs, unmatched = [], []
    for rule in new:
        if by_name.get(rule.name):
            pairs.append((by_name[rule.name].pop(0), rule))
        else:
            unmatched.append(rule)
    left = [rule for rules in by_name.values() for rule in rules]
    for rule in unmatched:
        twin = next((o for o in left if _content(o) == _content(rule)), None)
        if twin is not None:
            left.remove(twin)
            pairs.append((twin, rule))
    return pairs


def _kept_in_order(old: list[Any], new: list[Any], pairs: list[tuple[Any, Any]]) -> set[int]:
    """The new rules whose matched partners keep their relative run order (the longest common
    sequence); the others moved."""
    index = {id(o): i for i, o in enumerate(old)}
    partner = {id(n): o for o, n in pairs}
    matched_new = [rule for rule in new if id(rule) in partner]
    old_positions = sorted(index[id(partner[id(rule)])] for rule in matched_new)
    new_positions = [index[id(partner[id(rule)])] for rule in matched_new]
    blocks = SequenceMatcher(a=old_positions, b=new_positions, autojunk=False).get_matching_blocks()
    kept = set()
    for block in blocks:
        for offset in range(block.size):
            kept.add(id(matched_new[block.b + offset]))
    return kept
