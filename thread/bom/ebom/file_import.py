"""eBOM import from spreadsheets: CSV or XLSX rows in the flat shape, turned into the same body
the API takes (`{"part", "revision", "release", "rows": [...]}`), so that an import is
validated and written by exactly the code a PLM push goes through.

Columns are the row keys of the API: parent, parent_revision, find_number, part, revision,
name, quantity, unit, item_type, reference_designators (separated by commas, semicolons or
spaces), attributes (a JSON object) and `attributes.<name>` columns (one attribute each).

XLSX is XML inside a zip: openpyxl reads it with defusedxml (installed), which refuses any
entity declaration, so an entity bomb is refused before it expands; the declared unpacked size
is capped against zip bombs.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from defusedxml import DefusedXmlException

from thread.bom.ebom.ingest import flatten, too_many_lines
from thread.errors import ErrorItem, InvalidInput

COLUMNS = ["parent", "parent_revision", "find_number", "part", "revision", "name", "quantity",
           "unit", "item_type", "reference_designators", "attributes"]
ATTRIBUTE_PREFIX = "attributes."
XLSX_MAX_UNPACKED_FACTOR = 20  # unpacked size allowed per byte of upload (real XLSX: 5-10)
_DESIGNATOR_SEPARATORS = re.compile(r"[,;\s]+")
_ROW_POINTER = re.compile(r"^/rows/(\d+)(?:/(.*))?$")

SAMPLE = {  # a product the demo does not have, so the sample imports cleanly there too
    "part": "TR-100", "revision": "A",
    "lines": [
        {"find_number": 10, "part": "TR-200", "name": "Trike frame", "quantity": "1",
         "unit": "pcs", "item_type": "component", "revision": "A",
         "lines": [{"find_number": 10, "part": "TR-310", "name": "Frame tube", "quantity": "1250",
                    "unit": "mm", "item_type": "component", "attributes": {"material": "AL6061"}}]},
        {"find_number": 20, "part": "TR-900", "name": "Fastener kit", "quantity": "1",
         "unit": "pcs", "item_type": "phantom",
         "lines": [{"find_number": 10, "part": "TR-M5x12", "name": "Screw M5x12", "quantity": "8",
                    "unit": "pcs", "item_type": "component"}]},
        {"find_number": 30, "part": "TR-PCB", "name": "Controller board", "quantity": "1",
         "unit": "pcs", "item_type": "component",
         "lines": [{"find_number": 10, "part": "TR-R10K", "name": "Resistor 10k", "quantity": "2",
                    "unit": "pcs", "item_type": "component", "reference_designators": ["R1", "R2"]}]},
        {"find_number": 40, "part": "TR-DOC", "name": "Assembly drawing", "quantity": "1",
         "unit": "pcs", "item_type": "document"},
    ],
}


@dataclass
class SheetRows:
    rows: list[dict[str, Any]]
    row_numbers: list[int]  # the spreadsheet row of each entry of `rows` (the header is row 1)

    def where(self, pointer: str) -> str:
        """A JSON pointer of the flat body as the analyst knows it: "row 19, quantity"."""
        match = _ROW_POINTER.match(pointer)
        if not match:
            return pointer or "file"
        row = self.row_numbers[int(match.group(1))]
        return f"row {row}" + (f", {match.group(2)}" if match.group(2) else "")


def sample_csv() -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in flatten(SAMPLE):
        writer.writerow({
            **row,
            "reference_designators": " ".join(row.get("reference_designators", [])),
            "attributes": json.dumps(row["attributes"]) if row.get("attributes") else "",
        })
    return out.getvalue()


def read_rows(*, name: str, data: bytes, max_lines: int) -> SheetRows:
    """The data rows of an uploaded .csv or .xlsx, as flat-body rows."""
    lower = name.lower()
    if lower.endswith(".csv"):
        table = _csv_table(data)
    elif lower.endswith(".xlsx"):
        table = _xlsx_table(data)
    else:
        raise _file_problem("unsupported_file", "Upload a .csv or .xlsx file.")
    try:
        header = next(table)
    except StopIteration:
        raise _file_problem("empty_file", "The file is empty.") from None
    keys = [str(cell or "").strip().lower() for cell in header]
    unknown = [k for k in keys if k and k not in COLUMNS and not k.startswith(ATTRIBUTE_PREFIX)]
    if unknown:
        raise _file_problem("unknown_column", f"Unknown column(s) {', '.join(unknown)}; the "
                                              f"columns are {', '.join(COLUMNS)} and "
                                              f"{ATTRIBUTE_PREFIX}<name>.")
    rows, numbers = [], []
    for number, cells in table:
        row = _row(keys, cells)
        if not row:
            continue  # a blank line
        if len(rows) >= max_lines:
            raise too_many_lines("/rows", len(rows) + 1, max_lines)
        rows.append(row)
        numbers.append(number)
    return SheetRows(rows=rows, row_numbers=numbers)


def rows_payload(sheet: SheetRows, *, part: str = "", revision: str = "",
                 release: bool = False) -> dict[str, Any]:
    """The flat API body for the rows. The top part, unless given, is the one parent that is
    never a child."""
    if not part:
        parents = {r.get("parent") for r in sheet.rows if isinstance(r.get("parent"), str)}
        children = {r.get("part") for r in sheet.rows}
        tops = sorted(parents - children)
        if len(tops) != 1:
            detail = ("Name the top part: the file has no parent that is never a child." if not tops
                      else f"Name the top part: {', '.join(tops)} are all never a child.")
            raise InvalidInput(detail, [ErrorItem("/part", "required", detail)])
        part = tops[0]
    payload: dict[str, Any] = {"part": part, "release": release, "rows": sheet.rows}
    if revision:
        payload["revision"] = revision
    return payload


def _file_problem(code: str, detail: str) -> InvalidInput:
    return InvalidInput(detail, [ErrorItem("", code, detail)])


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _row(keys: list[str], cells: Iterable[Any]) -> dict[str, Any]:
    row: dict[str, Any] = {}
    attributes: dict[str, Any] = {}
    for key, raw in zip(keys, cells, strict=False):
        value = _cell(raw)
        if not key or value is None or value == "":
            continue
        if key.startswith(ATTRIBUTE_PREFIX):
            attributes[key[len(ATTRIBUTE_PREFIX):]] = value
        elif key == "reference_designators":
            row[key] = [d for d in _DESIGNATOR_SEPARATORS.split(str(value)) if d]
        elif key == "attributes":
            try:
                row[key] = json.loads(value) if isinstance(value, str) else value
            except ValueError:
                row[key] = value  # refused by the ingest, naming the row
        else:
            row[key] = value
    if attributes:
        base = row.get("attributes")
        row["attributes"] = {**base, **attributes} if isinstance(base, Mapping) else attributes
    return row


def _csv_table(data: bytes) -> Iterator[Any]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _file_problem("encoding", "Save the CSV as UTF-8.") from None
    first_line = text.split("\n", 1)[0]
    # Spreadsheets in many locales write ';' between columns.
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return
    yield header
    for cells in reader:
        yield reader.line_num, cells


def _xlsx_table(data: bytes) -> Iterator[Any]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > XLSX_MAX_UNPACKED_FACTOR * max(len(data), 1_000_000):
            raise _file_problem("unsafe_file", "The workbook unpacks to far more than its size; "
                                               "it was not read.")
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            rows = sheet.iter_rows(values_only=True)
            header = next(rows, None)
            if header is None:
                return
            yield header
            yield from enumerate(rows, start=2)
        finally:
            workbook.close()
    except (DefusedXmlException, zipfile.BadZipFile, InvalidFileException, KeyError, OSError,
            ValueError, SyntaxError) as exc:
        if _caused_by_defusedxml(exc):
            raise _file_problem("unsafe_file", "The workbook declares XML entities or a DTD, "
                                               "which Thread never reads; save it again from "
                                               "Excel.") from None
        raise _file_problem("unreadable_file", "This is not a readable .xlsx workbook.") from None


def _caused_by_defusedxml(exc: BaseException | None) -> bool:
    """openpyxl wraps what defusedxml raises in its own ValueError."""
    while exc is not None:
        if isinstance(exc, DefusedXmlException):
            return True
        exc = exc.__cause__ or exc.__context__
    return False
