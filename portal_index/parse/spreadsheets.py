"""Reading evaluators' spreadsheets (survey sheets, PAPI workbooks) and CSV text, within limits.

XLSX and ODS are ZIP files of XML written by anyone, so they are inspected before they are read:
every part's declared and actual decompressed size, XML document type and entity declarations
(refused), each sheet's declared dimension and the area its cells span (a reader allocates that
area), the rows and cells, and formulas without a cached value. Only then does calamine read them
(XLS too), in a child process with a memory and a time limit, so that even a native abort is a
rejection of the file and not of the process. CSV text is read as UTF-8 (with or without BOM),
UTF-16 with BOM (Excel's "Unicode text") or windows-1258; any other bytes are a rejection.
Every limit is named in the rejection when it is hit; docs/inputs.md lists them.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.parsers import expat

from portal_index.core.problems import InputRejected, Problem, column_letter
from portal_index.parse.confined import ChildLimits, confined

SPREADSHEETS = (".xlsx", ".xlsm", ".ods", ".xls")


@dataclass(frozen=True)
class Limits:
    file_bytes: int = 50_000_000  # a spreadsheet or CSV file as it arrives
    part_bytes: int = 100_000_000  # one decompressed part of an XLSX/ODS (a sheet's XML)
    total_bytes: int = 250_000_000  # all decompressed parts together
    cells: int = 2_000_000  # cells with a value, and the area a sheet's cells span
    rows: int = 200_000  # rows of one sheet or CSV file
    line_chars: int = 100_000  # one CSV line (a field may not run on for ever)
    seconds: float = 60.0  # reading a workbook in the child process
    cell_chars: int = 32_767  # one cell's text (Excel's own limit)
    result_bytes: int = 200_000_000  # what the reader child sends back
    memory_bytes: int = 700_000_000  # the reader's address space beyond its start-up: 1 GB in all


LIMITS = Limits()


def _clean(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)  # calamine reads every number as a float; show 7, not 7.0
    if isinstance(value, str):
        value = unicodedata.normalize("NFC", value).strip()
        return value or None
    return value


def _reject(path: Path, value, expected: str, sheet: str | None = None, row=None, column=None) -> InputRejected:
    return InputRejected([Problem(path.name, sheet, row, column, value, expected)])


def read_sheets(path: Path, limits: Limits = LIMITS) -> list[tuple[str, list[list]]]:
    """[(sheet name, rows of cell values)] for XLSX, ODS, XLS or CSV; empty cells are None."""
    suffix = path.suffix.lower()
    size = path.stat().st_size
    if size > limits.file_bytes:
        raise _reject(path, f"{size:,} bytes", f"a file of at most {limits.file_bytes:,} bytes")
    if suffix in (".xlsx", ".xlsm"):
        inspect_xlsx(path, limits)
    elif suffix == ".ods":
        inspect_ods(path, limits)
    if suffix in SPREADSHEETS:
        sheets = _read_in_child(path, limits)
        for name, rows in sheets:
            if len(rows) > limits.rows:
                raise _reject(path, f"{len(rows):,} rows", f"at most {limits.rows:,} rows", sheet=name)
        return sheets
    if suffix == ".csv":
        return [("csv", read_csv_rows(path, limits))]
    raise _reject(path, path.suffix, "a .xlsx, .ods, .xls or .csv spreadsheet")


# --- CSV text -------------------------------------------------------------------------------------

ENCODINGS = "UTF-8 (with or without BOM), UTF-16 with BOM, or windows-1258"


def decode_text(path: Path, data: bytes | None = None) -> str:
    """The text of a CSV file in one of the accepted encodings, or a rejection naming the file."""
    raw = path.read_bytes() if data is None else data
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as e:
            raise _reject(path, f"bytes {raw[e.start : e.start + 4]!r} at {e.start}", f"text in {ENCODINGS}") from None
    for encoding in ("utf-8-sig", "cp1258"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError as e:
            error = e
    raise _reject(path, f"byte {raw[error.start : error.start + 1]!r} at {error.start}", f"text in {ENCODINGS}")


def read_csv_rows(path: Path, limits: Limits = LIMITS, clean=_clean) -> list[list]:
    """Rows of a CSV file (comma or tab separated), within the line and row limits."""
    text = decode_text(path)
    for n, line in enumerate(text.splitlines(), start=1):
        if len(line) > limits.line_chars:
            raise _reject(
                path, f"{len(line):,} characters", f"lines of at most {limits.line_chars:,} characters", row=n
            )
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","  # Excel's "Unicode text" is tab-separated
    csv.field_size_limit(limits.line_chars)
    rows = []
    for row in csv.reader(io.StringIO(text), delimiter=delimiter):
        rows.append([clean(v) for v in row])
        if len(rows) > limits.rows:
            raise _reject(path, f"more than {limits.rows:,} rows", f"at most {limits.rows:,} rows")
    return rows


# --- inspecting OOXML (XLSX) and ODS before reading them -----------------------------------------

_REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d{1,7})$")


def _cell_ref(ref: str) -> tuple[int, int] | None:
    m = _REF.match(ref.upper())
    if not m:
        return None
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)), col


class _Counted(io.RawIOBase):
    """A part's decompressed bytes, with the part's and the file's running totals checked."""

    def __init__(self, stream, path: Path, part: str, limits: Limits, total: list[int]):
        self.stream, self.path, self.part, self.limits, self.total, self.read_bytes = (
            stream,
            path,
            part,
            limits,
            total,
            0,
        )

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self.stream.read(len(buffer))
        self.read_bytes += len(data)
        self.total[0] += len(data)
        if self.read_bytes > self.limits.part_bytes:
            raise _reject(
                self.path,
                f"{self.part}: more than {self.limits.part_bytes:,} bytes decompressed",
                f"parts of at most {self.limits.part_bytes:,} bytes",
            )
        if self.total[0] > self.limits.total_bytes:
            raise _reject(
                self.path,
                f"more than {self.limits.total_bytes:,} bytes decompressed",
                f"at most {self.limits.total_bytes:,} bytes decompressed in all",
            )
        buffer[: len(data)] = data
        return len(data)


def _open_zip(path: Path, limits: Limits) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise _reject(path, type(e).__name__, f"a readable {path.suffix} workbook (a ZIP file: {e})") from None
    declared = 0
    for info in archive.infolist():
        if info.file_size > limits.part_bytes:
            raise _reject(
                path,
                f"{info.filename}: {info.file_size:,} bytes decompressed",
                f"parts of at most {limits.part_bytes:,} bytes",
            )
        declared += info.file_size
    if declared > limits.total_bytes:
        raise _reject(path, f"{declared:,} bytes decompressed", f"at most {limits.total_bytes:,} bytes decompressed")
    return archive


def _scan(path: Path, archive: zipfile.ZipFile, part: str, limits: Limits, total: list[int], handlers: dict) -> None:
    """Stream one XML part through expat with `handlers`; document types and entities refused."""
    parser = expat.ParserCreate()

    def refuse(*_):
        raise _reject(
            path, f"{part}: an XML document type or entity declaration", "XML without DOCTYPE or ENTITY declarations"
        )

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    for name, handler in handlers.items():
        setattr(parser, name, handler)
    try:
        with archive.open(part) as raw:
            stream = io.BufferedReader(_Counted(raw, path, part, limits, total), 1 << 16)
            while chunk := stream.read(1 << 16):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except expat.ExpatError as e:
        raise _reject(path, f"{part}: {e}", "well-formed XML") from None
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as e:  # bad CRC, cut file, odd method
        raise _reject(path, f"{part}: {type(e).__name__}: {e}", f"a readable {path.suffix} workbook") from None


def _sheet_parts(path: Path, archive: zipfile.ZipFile, limits: Limits, total: list[int]) -> list[tuple[str, str]]:
    """[(sheet name, part name)] from the workbook and its relationships."""
    sheets: list[tuple[str, str]] = []
    targets: dict[str, str] = {}

    def workbook_start(tag, attrs):
        if tag.rsplit(":", 1)[-1] == "sheet":
            rid = next((v for k, v in attrs.items() if k.endswith(":id") or k == "r:id"), None)
            sheets.append((attrs.get("name", "?"), rid))

    def rels_start(tag, attrs):
        if tag.rsplit(":", 1)[-1] == "Relationship":
            targets[attrs.get("Id")] = attrs.get("Target", "")

    names = set(archive.namelist())
    for part, handler in (("xl/workbook.xml", workbook_start), ("xl/_rels/workbook.xml.rels", rels_start)):
        if part not in names:
            raise _reject(path, f"no {part}", "an XLSX workbook (Office Open XML)")
        _scan(path, archive, part, limits, total, {"StartElementHandler": handler})
    out = []
    for name, rid in sheets:
        target = targets.get(rid, "")
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        if part in names:
            out.append((name, part))
    return out


def inspect_xlsx(path: Path, limits: Limits = LIMITS) -> None:
    """Refuse an XLSX that would take a reader beyond the limits, or whose formulas have no value."""
    total = [0]
    with _open_zip(path, limits) as archive:
        for part in archive.namelist():  # every XML part, sheets or not: no entities anywhere
            if part.endswith((".xml", ".rels")) and not part.startswith("xl/worksheets/"):
                _scan(path, archive, part, limits, total, {})
        for sheet, part in _sheet_parts(path, archive, limits, total):
            _inspect_sheet(path, archive, sheet, part, limits, total)


def _inspect_sheet(path, archive, sheet: str, part: str, limits: Limits, total: list[int]) -> None:
    state = {"cells": 0, "rows": 0, "cell": None, "formula": False, "value": False, "span": [None, None, 0, 0]}
    problems: list[Problem] = []

    def area_problem(first, last, what):
        area = (last[0] - first[0] + 1) * (last[1] - first[1] + 1)
        if area > limits.cells:
            raise _reject(
                path, f"{what} ({area:,} cells)", f"a sheet spanning at most {limits.cells:,} cells", sheet=sheet
            )

    def start(tag, attrs):
        local = tag.rsplit(":", 1)[-1]
        if local == "dimension":
            ref = attrs.get("ref", "")
            ends = [_cell_ref(r) for r in ref.split(":")]
            if len(ends) == 2 and all(ends):
                area_problem(ends[0], ends[1], f"the declared range {ref}")
        elif local == "row":
            state["rows"] += 1
            if state["rows"] > limits.rows:
                raise _reject(path, f"more than {limits.rows:,} rows", f"at most {limits.rows:,} rows", sheet=sheet)
        elif local == "c":
            state["cells"] += 1
            if state["cells"] > limits.cells:
                raise _reject(path, f"more than {limits.cells:,} cells", f"at most {limits.cells:,} cells", sheet=sheet)
            state["cell"], state["formula"], state["value"] = attrs.get("r"), False, False
            at = _cell_ref(attrs.get("r", ""))
            if at:
                span = state["span"]
                span[0] = at[0] if span[0] is None else min(span[0], at[0])
                span[1] = at[1] if span[1] is None else min(span[1], at[1])
                span[2], span[3] = max(span[2], at[0]), max(span[3], at[1])
        elif local == "f":
            state["formula"] = True
        elif local == "is":
            state["value"] = True
        elif local == "v":
            state["in_v"] = True

    def text(data):
        if state.get("in_v") and data.strip():
            state["value"] = True

    def end(tag):
        if tag.rsplit(":", 1)[-1] == "v":
            state["in_v"] = False
        if tag.rsplit(":", 1)[-1] == "c" and state["formula"] and not state["value"]:
            problems.append(
                Problem(
                    path.name,
                    sheet,
                    None,
                    state["cell"],
                    "a formula without a saved value",
                    "the formula's value: open and save the file in Excel or LibreOffice",
                )
            )

    handlers = {"StartElementHandler": start, "EndElementHandler": end, "CharacterDataHandler": text}
    _scan(path, archive, part, limits, total, handlers)
    span = state["span"]
    if span[0] is not None:
        area_problem((span[0], span[1]), (span[2], span[3]), "cells far apart")
    if problems:
        raise InputRejected(problems[:50])


_ODS_VALUE_ATTRS = (
    "office:value",
    "office:date-value",
    "office:time-value",
    "office:boolean-value",
    "office:string-value",
)


def inspect_ods(path: Path, limits: Limits = LIMITS) -> None:
    """Refuse an ODS that would take a reader beyond the limits, or whose formulas have no value."""
    total = [0]
    state = {"sheet": None, "row": 0, "rows": 0, "cells": 0, "col": 0, "row_repeat": 1, "pending": None, "text": False}
    problems: list[Problem] = []

    def start(tag, attrs):
        if tag == "table:table":
            state.update(sheet=attrs.get("table:name"), row=0, rows=0)
        elif tag == "table:table-row":
            state["row_repeat"] = int(attrs.get("table:number-rows-repeated", "1") or 1)
            state["row"] += 1
            state["col"] = 0
        elif tag in ("table:table-cell", "table:covered-table-cell"):
            repeat = int(attrs.get("table:number-columns-repeated", "1") or 1)
            state["col"] += repeat
            has_value = any(a in attrs for a in _ODS_VALUE_ATTRS)
            state["pending"] = (repeat, has_value, "table:formula" in attrs, state["col"])
            state["text"] = False
        elif tag == "text:p":
            state["text"] = True

    def end(tag):
        if tag in ("table:table-cell", "table:covered-table-cell") and state["pending"]:
            repeat, has_value, formula, col = state["pending"]
            state["pending"] = None
            filled = has_value or state["text"]
            if filled:  # blank cells repeated to the sheet's edge are how ODS pads; they hold nothing
                state["cells"] += repeat * state["row_repeat"]
                if state["cells"] > limits.cells:
                    raise _reject(
                        path,
                        f"more than {limits.cells:,} cells with a value",
                        f"at most {limits.cells:,} cells",
                        sheet=state["sheet"],
                    )
                if state["row"] > limits.rows:
                    raise _reject(
                        path, f"a value in row {state['row']:,}", f"at most {limits.rows:,} rows", sheet=state["sheet"]
                    )
            if formula and not has_value:
                problems.append(
                    Problem(
                        path.name,
                        state["sheet"],
                        state["row"],
                        column_letter(col - 1),
                        "a formula without a saved value",
                        "the formula's value: open and save the file in LibreOffice or Excel",
                    )
                )
        elif tag == "table:table-row" and state["row_repeat"] > 1:
            state["row"] += state["row_repeat"] - 1

    with _open_zip(path, limits) as archive:
        names = set(archive.namelist())
        if "content.xml" not in names:
            raise _reject(path, "no content.xml", "an ODS spreadsheet (OpenDocument)")
        for part in sorted(names):
            if part.endswith(".xml") and part != "content.xml":
                _scan(path, archive, part, limits, total, {})
        _scan(path, archive, "content.xml", limits, total, {"StartElementHandler": start, "EndElementHandler": end})
    if problems:
        raise InputRejected(problems[:50])


# --- reading in a child process -------------------------------------------------------------------


def _read_in_child(path: Path, limits: Limits) -> list[tuple[str, list[list]]]:
    """calamine's reading of a workbook, in a child process with a memory and a time limit."""
    child = ChildLimits(limits.memory_bytes, limits.seconds, limits.result_bytes, startup_bytes=300_000_000)
    return confined("portal_index.parse.spreadsheets:read_workbook", path, child, what=f"a {path.suffix} workbook")


def read_workbook(path: Path) -> list[tuple[str, list[list]]]:
    """Every sheet of a workbook as calamine reads it (run by `_read_in_child`, in the child)."""
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
        sheets = []
        for name in wb.sheet_names:
            rows = []
            for r, row in enumerate(wb.get_sheet_by_name(name).to_python(), start=1):
                for c, value in enumerate(row):  # a cell longer than a spreadsheet allows is refused, not copied
                    if isinstance(value, str) and len(value) > LIMITS.cell_chars:
                        raise ValueError(
                            f"sheet {name!r} cell {column_letter(c)}{r} holds {len(value):,} characters, "
                            f"more than a spreadsheet cell may ({LIMITS.cell_chars:,})"
                        )
                rows.append([_clean(v) for v in row])
            sheets.append((name, rows))
        return sheets
    except MemoryError:
        raise
    except Exception as e:  # noqa: BLE001 - any failure of the reader is a property of the file
        raise _reject(path, type(e).__name__, f"a readable {path.suffix} workbook ({str(e)[:300]})") from None
