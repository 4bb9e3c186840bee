"""The accountability check: does every eBOM line end in exactly one place?

It reads only the eBOM and the mapping result, and re-derives from the eBOM which occurrences
must exist, so that it can catch the engine losing, doubling or misfiling a line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from .types import BUY, Disposition, EBom, MappingResult, MBomLine


@dataclass(frozen=True, slots=True)
class AccountabilityProblem:
    """One way in which the result does not account for the eBOM."""

    message: str
    line_id: int | None = None
    assembly: str | None = None
    path: tuple[int, ...] = ()


def check_accountability(ebom: EBom, result: MappingResult) -> list[AccountabilityProblem]:
    """Every problem found; an empty list means every line is accounted for exactly once.

    Walking each mBOM's assembly down the eBOM, every occurrence must have exactly one
    disposition, and it must be consistent: a fed line feeds a line of its own part (or of its
    substitute), a made subassembly has its own mBOM, the children of an excluded line are
    excluded by the same rule, the children of a bought line are inside it. Every eBOM line must
    be reached, every disposition must belong to a real occurrence, every mBOM line not added by
    a rule must be fed, and every mBOM but the top-level one must be made somewhere.
    """
    return _Checker(ebom, result).run()


class _Checker:
    def __init__(self, ebom: EBom, result: MappingResult) -> None:
        self.ebom = ebom
        self.result = result
        self.problems: list[AccountabilityProblem] = []
        self.occurrences: dict[tuple[str, tuple[int, ...]], Disposition] = {}
        self.reached: set[int] = set()
        self.made: set[str] = set()

    def run(self) -> list[AccountabilityProblem]:
        ebom, result = self.ebom, self.result
        for line_id, dispositions in result.dispositions().items():
            for disposition in dispositions:
                self._file(line_id, disposition)
        if ebom.root_part not in result.mboms:
            self._problem(f"the top-level part {ebom.root_part} has no mBOM")
        for assembly, mbom in result.mboms.items():
            by_position = {line.position: line for line in mbom.lines}
            fed: set[int] = set()
            self._walk(assembly, assembly, (), None, by_position, fed)
            for line in mbom.lines:
                if line.position not in fed and line.added_by_rule is None:
                    self._problem(f"mBOM line {line.position} ({line.part}) is fed by no eBOM "
                                  "line", assembly=assembly)
            if assembly != ebom.root_part and assembly not in self.made:
                self._problem(f"{assembly} has an mBOM but no line makes it", assembly=assembly)
        for lines in ebom.lines_by_parent.values():
            for line in lines:
                if line.id not in self.reached:
                    self._problem(f"eBOM line {line.id} ({line.parent_part} > {line.part}) is "
                                  "not reachable from the top-level part", line.id)
        for (assembly, path), disposition in self.occurrences.items():
            self._problem(f"disposition {disposition.kind} for an occurrence that does not "
                          "exist", path[-1], assembly, path)
        return self.problems

    def _file(self, line_id: int, disposition: Disposition) -> None:
        path = disposition.path
        if not path or path[-1] != line_id:
            self._problem("disposition filed under another line", line_id,
                          disposition.assembly, path)
            return
        key = (disposition.assembly, path)
        if key in self.occurrences:
            self._problem("occurrence accounted for twice", line_id, disposition.assembly, path)
            return
        self.occurrences[key] = disposition

    def _walk(self, assembly: str, part: str, path: tuple[int, ...],
              inherited: Disposition | None, by_position: dict[int, MBomLine],
              fed: set[int]) -> None:
        """Check the occurrences below `part`; `inherited` is the excluded or inside-bought
        fate that they all share with an ancestor."""
        lines_by_parent = self.ebom.lines_by_parent
        for line in lines_by_parent.get(part, ()):
            occurrence = (*path, line.id)
            self.reached.add(line.id)
            disposition = self.occurrences.pop((assembly, occurrence), None)
            has_children = bool(lines_by_parent.get(line.part))
            if disposition is None:
                self._problem("occurrence not accounted for", line.id, assembly, occurrence)
                continue
            if inherited is not None:
                if (disposition.kind, disposition.rule_id, disposition.bought_line_id) != (
                        inherited.kind, inherited.rule_id, inherited.bought_line_id):
                    self._problem(f"{disposition.kind}, but its ancestor makes it "
                                  f"{inherited.kind}", line.id, assembly, occurrence)
                self._walk(assembly, line.part, occurrence, inherited, by_position, fed)
            elif disposition.kind == "fed":
                self._check_fed(line.id, line.part, has_children, assembly, occurrence,
                                disposition, by_position, fed)
            elif disposition.kind == "flattened":
                if not has_children:
                    self._problem("flattened, but has no children", line.id, assembly,
                                  occurrence)
                self._walk(assembly, line.part, occurrence, None, by_position, fed)
            elif disposition.kind == "excluded":
                if disposition.rule_id is None:
                    self._problem("excluded by no rule", line.id, assembly, occurrence)
                self._walk(assembly, line.part, occurrence, disposition, by_position, fed)
            else:
                self._problem(f"{disposition.kind}, but no ancestor is bought", line.id,
                              assembly, occurrence)

    def _check_fed(self, line_id: int, part: str, has_children: bool, assembly: str,
                   occurrence: tuple[int, ...], disposition: Disposition,
                   by_position: dict[int, MBomLine], fed: set[int]) -> None:
        # Fed dispositions come from the lineage of the mBOM's own lines: the position exists.
        position = cast(int, disposition.position)
        mbom_line = by_position[position]
        fed.add(position)
        if part not in (mbom_line.part, mbom_line.substitutes_for):
            self._problem(f"fed into position {position}, which holds {mbom_line.part}",
                          line_id, assembly, occurrence)
        if not has_children:
            return
        if mbom_line.make_or_buy == BUY:
            inside = Disposition("inside_bought", assembly, occurrence, bought_line_id=line_id)
            self._walk(assembly, part, occurrence, inside, by_position, fed)
        elif part in self.result.mboms:
            self.made.add(part)
        else:
            self._problem(f"made subassembly {part} has no mBOM", line_id, assembly, occurrence)

    def _problem(self, message: str, line_id: int | None = None, assembly: str | None = None,
                 path: tuple[int, ...] = ()) -> None:
        self.problems.append(AccountabilityProblem(message, line_id, assembly, path))
