"""Reading evaluators' spreadsheets (survey sheets, PAPI workbooks): XLSX and ODS with calamine,
CSV in UTF-8 or windows-1258. Cells come back cleaned (NFC text, whole numbers as int, blanks None).
"""

from __future__ import annotations

import csv
import io
import unicodedata
from pathlib import Path

from portal_index.core.problems import InputRejected, Problem

SPREADSHEETS = (".xlsx", ".xlsm", ".ods")


def _clean(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)  # calamine reads every number as a float; show 7, not 7.0
    if isinstance(value, str):
        value = unicodedata.normalize("NFC", value).strip()
        return value or None
    return value


def read_sheets(path: Path) -> list[tuple[str, list[list]]]:
    """[(sheet name, rows of cell values)] for XLSX, ODS or CSV; empty cells are None."""
    suffix = path.suffix.lower()
    if suffix in SPREADSHEETS:
        from python_calamine import CalamineWorkbook

        try:
            wb = CalamineWorkbook.from_path(str(path))
        except Exception as e:  # a corrupt or mislabelled file is rejected, not a crash
            raise InputRejected(
                [Problem(path.name, None, None, None, type(e).__name__, f"a readable {suffix} workbook ({e})")]
            ) from None
        return [
            (name, [[_clean(v) for v in row] for row in wb.get_sheet_by_name(name).to_python()])
            for name in wb.sheet_names
        ]
    if suffix == ".csv":
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "cp1258"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        return [("csv", [[_clean(v) for v in row] for row in csv.reader(io.StringIO(text))])]
    raise InputRejected([Problem(path.name, None, None, None, path.suffix, "a .xlsx, .ods or .csv survey sheet")])
