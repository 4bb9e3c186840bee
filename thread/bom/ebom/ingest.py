"""eBOM ingest, step one: from a pushed body to validated plain data, without the database.

A PLM sends a whole multi-level structure, nested (`lines` inside `lines`) or flat (`rows` of
parent-child pairs, the shape of PLM exports and of the analysts' CSV/XLSX files). Both become
the same `ParsedPush`: a list of assemblies, each a part (and maybe a revision label) with its
direct lines. Every problem is collected with a JSON pointer into the body (`/lines/0/lines/3/
quantity`, `/rows/17/quantity`), up to MAX_ERRORS, and refused in one InvalidInput; too many
lines is refused first, as 413. Units are read as people and systems write them ("litres",
"EA") and kept as Thread's unit code (`UnitCatalog`). `thread.bom.ebom.planning` then checks the
pushed data against the database; `thread.bom.ebom.services.ebom_push` writes it.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from thread.bom.choices import ItemType
from thread.catalog.quantities import (
    QUANTITY_DECIMAL_PLACES,
    QuantityProblem,
    parse_quantity,
)
from thread.catalog.units import UnitCatalog, UnitNotRecognised
from thread.catalog.validators import REVISION_LABEL_PATTERN, part_number_problem
from thread.errors import DomainError, ErrorItem, InvalidInput

MAX_ERRORS = 100
MAX_DEPTH = 50  # deeper than any real product (8-15 levels); guards the recursive parser
MAX_FIND_NUMBER = 2_147_483_647
MAX_NAME_LENGTH = 200
MAX_REASON_LENGTH = 2000
MAX_DESIGNATOR_LENGTH = 64

LINE_KEYS = frozenset({"find_number", "part", "name", "quantity", "unit", "item_type",
                       "reference_designators", "attributes", "revision"})
NESTED_LINE_KEYS = LINE_KEYS | {"lines"}
ROW_KEYS = LINE_KEYS | {"parent", "parent_revision"}
TOP_KEYS = frozenset({"part", "revision", "name", "unit", "release", "reason", "lines", "rows"})
DEFAULT_TOP_UNIT = "pcs"
_REVISION_RE = re.compile(REVISION_LABEL_PATTERN)
_QUANTUM = Decimal(1).scaleb(-QUANTITY_DECIMAL_PLACES)


@dataclass(frozen=True, slots=True)
class LineIn:
    pointer: str  # the line in the body: "/lines/0/lines/3", "/rows/17"
    find_number: int
    part: str
    name: str
    quantity: Decimal
    unit: str
    item_type: str
    reference_designators: tuple[str, ...]
    attributes: dict[str, Any]

    def content(self) -> tuple:
        """What the snapshot stores of the line, comparable across pushes."""
        return (self.find_number, self.part, canonical_quantity(self.quantity), self.unit,
                self.item_type, list(self.reference_designators), self.attributes)


@dataclass(slots=True)
class AssemblyIn:
    """A part (revision) whose direct lines the push states; `lines` None: the push only names
    the revision (a child line with `revision` and no `lines`)."""

    pointer: str  # the line that carries it ("" for the top), where refusals point
    lines_pointer: str  # where its lines are: "/lines", "/lines/0/lines", "/rows"
    part: str
    revision: str | None
    lines: list[LineIn] | None

    @property
    def fingerprint(self) -> str:
        return fingerprint(line.content() for line in self.lines or ())


@dataclass(slots=True)
class ParsedPush:
    form: str  # "nested" or "flat"
    top: AssemblyIn
    assemblies: list[AssemblyIn]  # the top first, then in body order
    top_name: str
    top_unit: str | None
    release: bool
    reason: str
    line_count: int

    def lines(self) -> Iterable[LineIn]:
        for assembly in self.assemblies:
            yield from assembly.lines or ()


def canonical_quantity(quantity: Decimal) -> str:
    return format(quantity.quantize(_QUANTUM).normalize(), "f")


def fingerprint(contents: Iterable[tuple]) -> str:
    """SHA-256 of a snapshot's lines, independent of their order in the body."""
    ordered = sorted(contents, key=lambda content: content[0])
    text = json.dumps(ordered, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class TooManyErrors(Exception):
    pass


@dataclass
class Problems:
    """Collects refusals with their pointers; stops the parse once MAX_ERRORS are known."""

    items: list[ErrorItem] = field(default_factory=list)

    def add(self, pointer: str, code: str, detail: str) -> None:
        self.items.append(ErrorItem(pointer=pointer, code=code, detail=detail))
        if len(self.items) >= MAX_ERRORS:
            raise TooManyErrors

    def raise_if_any(self, detail: str = "The eBOM was refused; nothing was written") -> None:
        if self.items:
            more = f" (showing the first {MAX_ERRORS})" if len(self.items) >= MAX_ERRORS else ""
            first = self.items[0]
            raise InvalidInput(f"{detail}: {first.pointer or '/'} {first.detail}{more}",
                               list(self.items))


def too_many_lines(pointer: str, count: int, limit: int) -> DomainError:
    detail = (f"The structure has more than {limit} lines (counted {count} so far); split it or "
              "raise THREAD_MAX_EBOM_LINES.")
    return DomainError(detail=detail, errors=[ErrorItem(pointer, "too_many_lines", detail)],
                       kind="payload-too-large")


# --- Field parsers: each returns the clean value or records a problem and returns None --------

def _whole(value: Any) -> Any:
    """A spreadsheet's 10.0 (or "10") as 10; anything else unchanged, for the caller to refuse."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    if isinstance(value, float | Decimal) and not isinstance(value, bool):
        try:
            return int(value) if value == int(value) else value
        except (ValueError, OverflowError):
            return value
    return value


def _find_number(value: Any, pointer: str, problems: Problems) -> int | None:
    value = _whole(value)
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(pointer, "invalid" if value is not None else "required",
                     "A find number is a whole number from 1." if value is not None
                     else "A find number is required.")
        return None
    if not 1 <= value <= MAX_FIND_NUMBER:
        problems.add(pointer, "out_of_range", f"A find number is from 1 to {MAX_FIND_NUMBER}.")
        return None
    return value


def _part_number(value: Any, pointer: str, problems: Problems) -> str | None:
    if value is None:
        problems.add(pointer, "required", "A part number is required.")
        return None
    problem = part_number_problem(value) if isinstance(value, str) else "A part number is text."
    if problem:
        problems.add(pointer, "invalid_part_number", problem)
        return None
    return value


def _revision(value: Any, pointer: str, problems: Problems) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _REVISION_RE.match(value):
        problems.add(pointer, "invalid_revision",
                     "A revision label is 1-16 letters, digits, '.', '-' or '_'.")
        return None
    return value


def _text(value: Any, pointer: str, problems: Problems, max_length: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.add(pointer, "invalid", "Must be text.")
        return ""
    if len(value) > max_length:
        problems.add(pointer, "max_length", f"At most {max_length} characters.")
        return ""
    return value.strip()


def _has_control_characters(value: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in value)


def _designators(value: Any, pointer: str, problems: Problems) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.add(pointer, "invalid", "Reference designators are a list of texts.")
        return ()
    cleaned = tuple(v.strip() for v in value)
    if any(not v or len(v) > MAX_DESIGNATOR_LENGTH or _has_control_characters(v)
           for v in cleaned):
        problems.add(pointer, "invalid", f"Each reference designator is 1-{MAX_DESIGNATOR_LENGTH} "
                                         "printable characters.")
        return ()
    if len(set(cleaned)) != len(cleaned):
        problems.add(pointer, "duplicate", "A reference designator appears twice on this line.")
        return ()
    return cleaned


def _plain_json(value: Any) -> Any:
    """Attribute values as JSON stores them: the body is parsed with Decimal numbers (exact
    quantities), but attributes keep JSON's own numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_json(v) for v in value]
    return value


def _attributes(value: Any, pointer: str, problems: Problems) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and k for k in value):
        problems.add(pointer, "invalid", "Attributes are a JSON object with named keys.")
        return {}
    return _plain_json(value)


def _unit(value: Any, pointer: str, units: UnitCatalog, problems: Problems) -> str | None:
    """Thread's code of the unit as written ("litres" → "l")."""
    try:
        return units.resolve(value if isinstance(value, str) else "")
    except UnitNotRecognised as exc:
        problems.add(pointer, exc.code, exc.detail)
        return None


def _line(raw: Any, pointer: str, keys: frozenset[str], units: UnitCatalog,
          problems: Problems) -> LineIn | None:
    if not isinstance(raw, dict):
        problems.add(pointer, "invalid", "A line is a JSON object.")
        return None
    before = len(problems.items)
    for key in sorted(set(raw) - keys):
        problems.add(f"{pointer}/{key}", "unknown_field",
                     f"Unknown field {key!r}; a line has {', '.join(sorted(keys))}.")
    find_number = _find_number(raw.get("find_number"), f"{pointer}/find_number", problems)
    part = _part_number(raw.get("part"), f"{pointer}/part", problems)
    name = _text(raw.get("name"), f"{pointer}/name", problems, MAX_NAME_LENGTH)
    quantity = None
    try:
        quantity = parse_quantity(raw.get("quantity"))
    except QuantityProblem as exc:
        problems.add(f"{pointer}/quantity", exc.code, exc.detail)
    unit = _unit(raw.get("unit"), f"{pointer}/unit", units, problems)
    item_type = raw.get("item_type")
    if item_type not in ItemType.values:
        problems.add(f"{pointer}/item_type", "required" if item_type is None else "invalid_choice",
                     f"item_type is one of {', '.join(ItemType.values)}.")
    designators = _designators(raw.get("reference_designators"),
                               f"{pointer}/reference_designators", problems)
    attributes = _attributes(raw.get("attributes"), f"{pointer}/attributes", problems)
    if len(problems.items) > before:
        return None
    return LineIn(pointer=pointer, find_number=find_number, part=part, name=name,
                  quantity=quantity, unit=unit, item_type=item_type,
                  reference_designators=designators, attributes=attributes)


def _check_find_numbers(assembly: AssemblyIn, problems: Problems) -> None:
    seen: dict[int, str] = {}
    for line in assembly.lines or ():
        if line.find_number in seen:
            problems.add(f"{line.pointer}/find_number", "duplicate_find_number",
                         f"Find number {line.find_number} is used twice under {assembly.part} "
                         f"(also at {seen[line.find_number]}).")
        seen.setdefault(line.find_number, line.pointer)


# --- Counting (before anything else: a body beyond the limit is refused unread) -------------

def _count_nested(lines: Any, depth: int, limit: int) -> int:
    if not isinstance(lines, list) or depth > MAX_DEPTH:
        return 0
    count = 0
    for raw in lines:
        count += 1
        if isinstance(raw, dict):
            count += _count_nested(raw.get("lines"), depth + 1, limit)
        if count > limit:
            raise too_many_lines("/lines", count, limit)
    return count


# --- The two shapes --------------------------------------------------------------------------

def _parse_nested(body: dict, top: AssemblyIn, units: UnitCatalog,
                  problems: Problems) -> list[AssemblyIn]:
    assemblies = [top]

    def walk(assembly: AssemblyIn, raw_lines: Any, depth: int) -> None:
        if not isinstance(raw_lines, list):
            problems.add(assembly.lines_pointer, "invalid", "lines is a list of lines.")
            return
        if depth > MAX_DEPTH:
            problems.add(assembly.lines_pointer, "too_deep",
                         f"A structure has at most {MAX_DEPTH} levels.")
            return
        assembly.lines = []
        for index, raw in enumerate(raw_lines):
            pointer = f"{assembly.lines_pointer}/{index}"
            line = _line(raw, pointer, NESTED_LINE_KEYS, units, problems)
            if line is not None:
                assembly.lines.append(line)
            if not isinstance(raw, dict):
                continue
            revision = _revision(raw.get("revision"), f"{pointer}/revision", problems)
            if "lines" in raw or revision is not None:
                child = AssemblyIn(pointer=pointer, lines_pointer=f"{pointer}/lines",
                                   part=raw.get("part"), revision=revision, lines=None)
                if line is not None:
                    assemblies.append(child)
                if "lines" in raw:
                    walk(child, raw["lines"], depth + 1)
        _check_find_numbers(assembly, problems)

    walk(top, body["lines"], 1)
    return assemblies


def _parse_flat(body: dict, top: AssemblyIn, units: UnitCatalog,
                problems: Problems) -> list[AssemblyIn]:
    raw_rows = body["rows"]
    if not isinstance(raw_rows, list):
        problems.add("/rows", "invalid", "rows is a list of parent-child rows.")
        return [top]
    rows: list[tuple[str, str | None, LineIn, str | None]] = []  # parent, parent rev, line, rev
    for index, raw in enumerate(raw_rows):
        pointer = f"/rows/{index}"
        line = _line(raw, pointer, ROW_KEYS, units, problems)
        if not isinstance(raw, dict):
            continue
        parent = _part_number(raw.get("parent"), f"{pointer}/parent", problems)
        parent_revision = _revision(raw.get("parent_revision"), f"{pointer}/parent_revision",
                                    problems)
        revision = _revision(raw.get("revision"), f"{pointer}/revision", problems)
        if line is not None and parent is not None:
            rows.append((parent, parent_revision, line, revision))

    top_revisions = {r for p, r, _, _ in rows if p == top.part and r is not None}
    if top.revision is None and len(top_revisions) == 1:
        top.revision = next(iter(top_revisions))
    for parent, parent_revision, line, _ in rows:
        if parent == top.part and parent_revision not in (None, top.revision):
            problems.add(f"{line.pointer}/parent_revision", "conflicting_revision",
                         f"The top part {top.part} is pushed as revision "
                         f"{top.revision or '(its current draft)'}, not {parent_revision}.")
    rows = [row for row in rows if row[0] != top.part or row[1] in (None, top.revision)]

    # Which revision a parent's rows belong to when the row does not say: the top's, else the
    # one the rows naming that part as a child give (it must be unambiguous).
    child_revisions: dict[str, set[str]] = {}
    carrier: dict[tuple[str, str | None], str] = {}  # (part, rev) -> row that names it
    for _, _, line, revision in rows:
        if revision is not None:
            child_revisions.setdefault(line.part, set()).add(revision)
            carrier.setdefault((line.part, revision), line.pointer)
        carrier.setdefault((line.part, None), line.pointer)
    children = {line.part for _, _, line, _ in rows}

    groups: dict[tuple[str, str | None], AssemblyIn] = {(top.part, top.revision): top}
    top.lines = []
    for parent, parent_revision, line, _ in rows:
        if parent_revision is None:
            if parent == top.part:
                parent_revision = top.revision
            elif len(child_revisions.get(parent, ())) == 1:
                parent_revision = next(iter(child_revisions[parent]))
            elif len(child_revisions.get(parent, ())) > 1:
                problems.add(f"{line.pointer}/parent_revision", "required",
                             f"{parent} appears with revisions "
                             f"{', '.join(sorted(child_revisions[parent]))}: say which.")
                continue
        if parent != top.part and parent not in children:
            problems.add(f"{line.pointer}/parent", "not_in_structure",
                         f"{parent} is neither the top part {top.part} nor a child in any row.")
            continue
        key = (parent, parent_revision)
        if key not in groups:
            named_by = carrier.get(key) or carrier.get((parent, None)) or line.pointer
            groups[key] = AssemblyIn(pointer=named_by, lines_pointer="/rows", part=parent,
                                     revision=parent_revision, lines=[])
        groups[key].lines.append(line)
    for _, _, line, revision in rows:  # a child revision named without rows of its own
        if revision is not None and (line.part, revision) not in groups:
            groups[(line.part, revision)] = AssemblyIn(pointer=line.pointer, lines_pointer="/rows",
                                                       part=line.part, revision=revision,
                                                       lines=None)
    for assembly in groups.values():
        _check_find_numbers(assembly, problems)
    return list(groups.values())


def parse_push(body: Any, *, units: UnitCatalog, max_lines: int) -> ParsedPush:
    """Check the shape and every field of a pushed eBOM body; no database access."""
    if not isinstance(body, dict):
        raise InvalidInput("The body is a JSON object.",
                           [ErrorItem("", "invalid", "The body is a JSON object.")])
    problems = Problems()
    if "lines" in body and "rows" in body:
        raise InvalidInput("Send either nested lines or flat rows, not both.",
                           [ErrorItem("/rows", "ambiguous", "Send either lines or rows.")])
    if "lines" not in body and "rows" not in body:
        raise InvalidInput("An eBOM needs lines (nested) or rows (flat).",
                           [ErrorItem("/lines", "required", "lines or rows is required.")])
    form = "nested" if "lines" in body else "flat"
    if form == "nested":
        count = _count_nested(body["lines"], 1, max_lines)
    else:
        count = len(body["rows"]) if isinstance(body["rows"], list) else 0
        if count > max_lines:
            raise too_many_lines("/rows", count, max_lines)
    try:
        for key in sorted(set(body) - TOP_KEYS):
            problems.add(f"/{key}", "unknown_field",
                         f"Unknown field {key!r}; the body has {', '.join(sorted(TOP_KEYS))}.")
        part = _part_number(body.get("part"), "/part", problems)
        revision = _revision(body.get("revision"), "/revision", problems)
        name = _text(body.get("name"), "/name", problems, MAX_NAME_LENGTH)
        reason = _text(body.get("reason"), "/reason", problems, MAX_REASON_LENGTH)
        release = body.get("release", False)
        if not isinstance(release, bool):
            problems.add("/release", "invalid", "release is true or false.")
        top_unit = body.get("unit")
        if top_unit is not None:
            top_unit = _unit(top_unit, "/unit", units, problems)
        top = AssemblyIn(pointer="", lines_pointer="/lines" if form == "nested" else "/rows",
                         part=part or "", revision=revision, lines=None)
        parse = _parse_nested if form == "nested" else _parse_flat
        assemblies = parse(body, top, units, problems)
    except TooManyErrors:
        pass
    problems.raise_if_any()
    return ParsedPush(form=form, top=top, assemblies=assemblies, top_name=name,
                      top_unit=top_unit, release=release, reason=reason, line_count=count)


def flatten(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A nested body's lines as flat rows (for the sample file and for converting exports)."""
    rows: list[dict[str, Any]] = []

    def walk(parent: str, parent_revision: str | None, lines: list) -> None:
        for line in lines:
            row = {"parent": parent, **({"parent_revision": parent_revision}
                                        if parent_revision else {})}
            row.update({k: v for k, v in line.items() if k != "lines"})
            rows.append(row)
            if "lines" in line:
                walk(line["part"], line.get("revision"), line["lines"])

    walk(body["part"], body.get("revision"), body["lines"])
    return rows
