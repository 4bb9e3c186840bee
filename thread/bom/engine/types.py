"""The engine's plain data: what goes in (eBOM, rules, plant context) and what comes out.

Inputs are frozen so that one eBOM or context can be mapped many times, and so that a shared
sub-structure (the same part under many parents) is one object that nothing can alter halfway.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

from thread.catalog.units import PartConversion, Unit

MAKE = "make"
BUY = "buy"
MAKE_OR_BUY = (MAKE, BUY)

COMPONENT = "component"
PHANTOM = "phantom"
DOCUMENT = "document"
SOFTWARE = "software"
BULK = "bulk"
ITEM_TYPES = (COMPONENT, PHANTOM, DOCUMENT, SOFTWARE, BULK)

NO_ATTRIBUTES: Mapping[str, Any] = MappingProxyType({})


def empty_mapping() -> Mapping[str, Any]:
    """The shared read-only empty mapping (dataclasses refuse it as a plain default)."""
    return NO_ATTRIBUTES

# ---------------------------------------------------------------------------------------------
# Input


@dataclass(frozen=True, slots=True, kw_only=True)
class EBomLine:
    """One eBOM line: `quantity` `unit` of `part` in one base unit of `parent_part`.

    The `part_*` fields describe the child part (as the catalog holds it), so that conditions and
    unit handling need no look-up. `attributes` are the line's attributes from PLM.
    """

    id: int
    parent_part: str
    find_number: int
    part: str
    quantity: Decimal
    unit: str
    part_base_unit: str
    item_type: str = COMPONENT
    reference_designators: tuple[str, ...] = ()
    attributes: Mapping[str, Any] = field(default_factory=empty_mapping)
    part_category: str = ""
    part_make_or_buy: str = MAKE


@dataclass(frozen=True, slots=True, kw_only=True)
class EBom:
    """A multi-level eBOM rooted at `root_part`, stored by part: the children of a part are
    `lines_by_parent[part]`. A part used under several parents has its structure once, so the
    eBOM is a directed acyclic graph of parts; every path from the root is one occurrence.

    `revision_attributes` (by part number) are the attributes of the assemblies' revisions:
    what an add_item condition sees of a made assembly (eBOM line attributes belong to lines).
    """

    root_part: str
    root_base_unit: str
    lines_by_parent: Mapping[str, Sequence[EBomLine]]
    root_category: str = ""
    revision_attributes: Mapping[str, Mapping[str, Any]] = field(default_factory=empty_mapping)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantPartData:
    """A part's data at one plant. Blank `make_or_buy` means the part's default; no `unit` means
    the part's base unit."""

    active: bool = True
    make_or_buy: str = ""
    unit: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class KnownPart:
    """A catalog part that a rule may name (substitute, add_item) although it is not in the
    eBOM."""

    base_unit: str
    category: str = ""
    make_or_buy: str = MAKE


@dataclass(frozen=True, slots=True, kw_only=True)
class PlantContext:
    """Everything plant- and catalog-specific that mapping needs, already read from the
    database. `part_conversions` are keyed by part number."""

    plant: str
    units: Mapping[str, Unit]
    part_conversions: Mapping[str, Sequence[PartConversion]] = field(default_factory=dict)
    plant_parts: Mapping[str, PlantPartData] = field(default_factory=dict)
    known_parts: Mapping[str, KnownPart] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """A mapping rule as an analyst stores it: `condition` is a JSON condition tree (see
    `conditions`), `params` the action's JSON parameters. Rules run by (`order`, `id`)."""

    id: int
    order: int
    name: str
    action: str
    condition: Any
    params: Mapping[str, Any] = field(default_factory=empty_mapping)
    enabled: bool = True


# ---------------------------------------------------------------------------------------------
# Errors


@dataclass(eq=True)
class RuleError(ValueError):
    """What is wrong with a rule: `pointer` is an RFC 6901 JSON pointer into the rule
    ("/params/part", "/condition/all/1/op", "/action"), so a form can put the message next to
    the offending field. Not frozen: Python sets attributes on exceptions while raising them."""

    pointer: str
    message: str
    rule_id: int | None = None

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"rule {self.rule_id} " if self.rule_id is not None else ""
        return f"{where}{self.pointer or '/'}: {self.message}"


class RuleSetError(ValueError):
    """Rules that cannot run, with every error found (not only the first)."""

    def __init__(self, errors: Sequence[RuleError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(str(error) for error in self.errors))


class StructureError(ValueError):
    """The eBOM cannot be mapped at all (a part contains itself)."""


# ---------------------------------------------------------------------------------------------
# Output


# The records made per line (Lineage, MBomLine, Disposition) are NamedTuples: as immutable as a
# frozen dataclass, but built in a third of the time, and a mapping makes them per eBOM line.


class Lineage(NamedTuple):
    """Where an mBOM line comes from.

    `source_line_ids`: the eBOM lines that feed it, in order of first appearance. Fed by one
    occurrence, they are its path from the made assembly down: the flattened lines it came
    through, then the line itself. `merged_paths`: once lines merged, the path of each
    occurrence that feeds it. `rule_ids`: the rules whose effect the line shows (flatten rules on
    the way down first, then the line's own in rule order; merged: by first appearance).
    """

    source_line_ids: tuple[int, ...]
    rule_ids: tuple[int, ...]
    merged_paths: tuple[tuple[int, ...], ...] = ()

    @property
    def paths(self) -> tuple[tuple[int, ...], ...]:
        """The path of every occurrence that feeds the line: their "fed" dispositions."""
        if self.merged_paths:
            return self.merged_paths
        return (self.source_line_ids,) if self.source_line_ids else ()


@dataclass(frozen=True, slots=True)
class Rounding:
    """How a quantity is rounded: up to a `multiple`, or to `decimals` places with `mode`
    "up" (away from zero, so never down for positive quantities) or "half_up"."""

    multiple: Decimal | None = None
    decimals: int | None = None
    mode: str = "up"


class MBomLine(NamedTuple):
    """One line of a single-level mBOM: `quantity` `unit` of `part` per one base unit of the
    made assembly. `unrounded_quantity` is the quantity before `rounding`, kept so that merging
    lines later rounds their sum, not each part of it."""

    position: int
    part: str
    quantity: Decimal
    unit: str
    item_type: str
    make_or_buy: str
    lineage: Lineage
    unrounded_quantity: Decimal
    rounding: Rounding | None = None
    scrap_percent: Decimal | None = None
    yield_percent: Decimal | None = None
    operation: str = ""
    erp_fields: Mapping[str, Any] = NO_ATTRIBUTES
    reference_designators: tuple[str, ...] = ()
    substitutes_for: str | None = None
    added_by_rule: int | None = None


@dataclass(frozen=True, slots=True)
class MBom:
    """The mBOM of one made assembly at one plant, per one `base_unit` of the assembly."""

    part: str
    base_unit: str
    lines: tuple[MBomLine, ...]


DispositionKind = Literal["fed", "flattened", "excluded", "inside_bought"]


class Disposition(NamedTuple):
    """Where one occurrence of an eBOM line ended.

    An occurrence is the line reached along `path` (eBOM line ids from `assembly` down to the
    line itself) while mapping the made assembly `assembly`. Kinds:
    - "fed": it feeds the mBOM line at `position` of `assembly` (its path is in that line's
      lineage);
    - "flattened": it dissolved into its children (phantom item type, or flatten rule
      `rule_id`), whose occurrences are accounted for themselves;
    - "excluded": excluded by rule `rule_id`, on this line or on an ancestor in `path`;
    - "inside_bought": inside the bought subassembly of eBOM line `bought_line_id`.
    """

    kind: DispositionKind
    assembly: str
    path: tuple[int, ...]
    rule_id: int | None = None
    position: int | None = None
    bought_line_id: int | None = None


@dataclass(frozen=True, slots=True)
class MappingWarning:
    """Something the analyst should look at; the mapping still completed. `code` is stable for
    filtering; `message` is for people."""

    code: str
    message: str
    assembly: str | None = None
    line_id: int | None = None
    rule_id: int | None = None


@dataclass(frozen=True, slots=True)
class MappingResult:
    """The mBOMs of one eBOM at one plant, keyed by made assembly part number (the top-level
    part first); the occurrences `set_aside` (flattened, excluded, inside a bought
    subassembly), in the order the walk met them; and the warnings in the order they arose.

    The occurrences that feed mBOM lines are in the lines' lineage, so that a mapping does not
    record them twice; `dispositions()` puts both together per eBOM line.
    """

    plant: str
    root_part: str
    mboms: Mapping[str, MBom]
    set_aside: tuple[Disposition, ...]
    warnings: tuple[MappingWarning, ...]

    def dispositions(self) -> dict[int, tuple[Disposition, ...]]:
        """Every occurrence's disposition, by eBOM line id: those feeding mBOM lines (in mBOM
        and position order), then those set aside. A line used along several paths has
        several."""
        by_line: dict[int, list[Disposition]] = {}
        for mbom in self.mboms.values():
            for line in mbom.lines:
                for path in line.lineage.paths:
                    by_line.setdefault(path[-1], []).append(
                        Disposition("fed", mbom.part, path, position=line.position))
        for disposition in self.set_aside:
            by_line.setdefault(disposition.path[-1], []).append(disposition)
        return {line_id: tuple(found) for line_id, found in by_line.items()}
