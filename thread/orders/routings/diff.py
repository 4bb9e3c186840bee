"""What one routing version changes against another, over plain operations matched by sequence
(operations added, removed and changed, the changed fields side by side). No database here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

COMPARED = ("operation_code", "description", "work_center", "setup_minutes", "run_minutes",
            "queue_minutes", "move_minutes", "milestone", "reports_quantity", "instructions",
            "document_reference")


@dataclass(frozen=True)
class OperationChange:
    sequence: int
    kind: str  # "added", "removed", "changed", "unchanged"
    fields: tuple[tuple[str, Any, Any], ...] = ()  # (field, old, new) for "changed"


def routing_diff(old: Sequence[Any], new: Sequence[Any]) -> list[OperationChange]:
    """`old` and `new` are operations with the COMPARED attributes and `sequence`."""
    before = {op.sequence: op for op in old}
    after = {op.sequence: op for op in new}
    changes = []
    for sequence in sorted(before.keys() | after.keys()):
        a, b = before.get(sequence), after.get(sequence)
        if a is None:
            changes.append(OperationChange(sequence, "added"))
        elif b is None:
            changes.append(OperationChange(sequence, "removed"))
        else:
            fields = tuple((name, getattr(a, name), getattr(b, name)) for name in COMPARED
                           if getattr(a, name) != getattr(b, name))
            changes.append(OperationChange(sequence, "changed" if fields else "unchanged",
                                           fields))
    return changes
