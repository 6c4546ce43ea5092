"""Peak memory and time of the input checks on hostile files (`make bench-hostile`).

Each file is built here (streamed to disk, so this process stays small), then read by the loader's
own entry point in a fresh process, whose peak resident memory (its children included: the
workbook reader runs in one) is reported with the outcome. The figures are in docs/inputs.md."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHEET = "xl/worksheets/sheet1.xml"
READ = """
import sys
from pathlib import Path
from portal_index.core.problems import InputRejected
from portal_index.parse.spreadsheets import read_sheets
try:
    sheets = read_sheets(Path(sys.argv[1]))
    print(f"read: {sum(len(rows) for _, rows in sheets):,} rows")
except InputRejected as e:
    print("rejected: " + str(e.problems[0])[:140])
"""


def _base_parts(folder: Path) -> dict[str, bytes]:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["Mã cổng", "Ngày kiểm tra"])
    wb.save(folder / "base.xlsx")
    with zipfile.ZipFile(folder / "base.xlsx") as z:
        return {n: z.read(n) for n in z.namelist()}


def _zip(path: Path, parts: dict) -> Path:
    """An XLSX whose parts are bytes, or iterables of chunks written as they come."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            with z.open(name, "w", force_zip64=True) as out:
                for chunk in [data] if isinstance(data, bytes) else data:
                    out.write(chunk)
    return path


def _filler(n: int, byte: bytes = b" "):
    for _ in range(n // 1_000_000):
        yield byte * 1_000_000


def _cells(rows: int, columns: int):
    yield b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    letters = [chr(65 + c).encode() for c in range(columns)]
    for r in range(1, rows + 1):
        yield b'<row r="%d">' % r + b"".join(b'<c r="%s%d"><v>%d</v></c>' % (c, r, r) for c in letters) + b"</row>"
    yield b"</sheetData></worksheet>"


def build(folder: Path) -> dict[str, Path]:
    parts = _base_parts(folder)
    entities = b'<!ENTITY a "aaaaaaaaaa">' + b"".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(8)
    )
    grid = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', parts[SHEET])
    files = {
        "entities (billion laughs)": _zip(
            folder / "laughs.xlsx", {**parts, SHEET: b"<!DOCTYPE x [" + entities + b"]>" + parts[SHEET]}
        ),
        "declared range A1:XFD1048576": _zip(folder / "grid.xlsx", {**parts, SHEET: grid}),
        "sheet inflating to 1.1 GB": _zip(folder / "inflate.xlsx", {**parts, SHEET: _filler(1_100_000_000)}),
        "sheet of 99 MB (under the limit)": _zip(folder / "big.xlsx", {**parts, SHEET: _filler(99_000_000)}),
        "250,000 rows": _zip(folder / "rows.xlsx", {**parts, SHEET: _cells(250_000, 1)}),
        "1 M cells (legitimate: read)": _zip(folder / "cells.xlsx", {**parts, SHEET: _cells(100_000, 10)}),
    }
    line = folder / "line.csv"
    with open(line, "wb") as out:
        out.write(b"a,b\n")
        for chunk in _filler(49_000_000, b"x"):
            out.write(chunk)
        out.write(b"\n")
    files["CSV with a 49 MB line"] = line
    return files


def measure(path: Path) -> tuple[str, float, float]:
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", READ, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read().strip()
    _, _, usage = os.wait4(proc.pid, 0)  # the child and its own children
    return out, time.perf_counter() - start, usage.ru_maxrss / 1024


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
        files = build(Path(tmp))
        print(f"{'input':34} {'bytes':>12} {'seconds':>8} {'peak MB':>8}  outcome")
        for label, path in files.items():
            outcome, seconds, peak = measure(path)
            print(f"{label:34} {path.stat().st_size:12,} {seconds:8.2f} {peak:8.0f}  {outcome}")


if __name__ == "__main__":
    main()
