"""Evaluators' survey sheets (XLSX or CSV) against the documented template `templates/survey_v1.yml`."""

from __future__ import annotations

import csv
import io
import unicodedata
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import yaml

from portal_index.config import SEEDS_DIR
from portal_index.problems import InputRejected, Problem
from portal_index.text import fold

TEMPLATE = Path(__file__).parent / "templates" / "survey_v1.yml"


@lru_cache(maxsize=1)
def template() -> dict:
    return yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def registry_portal_ids() -> frozenset[str]:
    with open(SEEDS_DIR / "registry" / "portals_registry.csv", encoding="utf-8", newline="") as f:
        return frozenset(row["portal_id"] for row in csv.DictReader(f))


def _header_index() -> dict[str, dict]:
    index = {}
    for col in template()["columns"]:
        for label in (col["vi"], col["en"], col["field"]):
            index[fold(label)] = col
    return index


def _vocabulary() -> tuple[dict[str, bool], dict[str, str]]:
    t = template()
    yesno = {fold(v): True for v in t["yes_values"]} | {fold(v): False for v in t["no_values"]}
    types = {fold(label): name for name, labels in t["test_types"].items() for label in labels}
    return yesno, types


def _parse_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and 20000 < value < 80000:  # Excel serial date
        return date(1899, 12, 30) + timedelta(days=int(value))
    text = str(value).strip()
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise ValueError


def _parse_number(value) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    return float(str(value).strip().replace(",", "."))


def _rows_from_file(path: Path) -> list[tuple[str, list[list]]]:
    """[(sheet name, rows as lists of cell values)] for XLSX or CSV."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        try:
            return [(ws.title, [list(r) for r in ws.iter_rows(values_only=True)]) for ws in wb.worksheets]
        finally:
            wb.close()
    if path.suffix.lower() == ".csv":
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "cp1258"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        return [("csv", list(csv.reader(io.StringIO(unicodedata.normalize("NFC", text)))))]
    raise InputRejected([Problem(path.name, None, None, None, path.suffix, "a .xlsx or .csv survey sheet")])


def parse(path: Path) -> dict[str, list[dict]]:
    header_index = _header_index()
    yesno, test_types = _vocabulary()
    portals = registry_portal_ids()
    problems: list[Problem] = []
    out: list[dict] = []
    sheets_with_header = 0
    for sheet, rows in _rows_from_file(path):
        header_row = next((i for i, r in enumerate(rows[:10]) if any(
            c is not None and fold(str(c)) in header_index for c in r)), None)
        if header_row is None:
            continue
        sheets_with_header += 1
        columns: dict[int, dict] = {}
        for j, cell in enumerate(rows[header_row]):
            if cell is not None and fold(str(cell)) in header_index:
                columns[j] = header_index[fold(str(cell))]
        found = {c["field"] for c in columns.values()}
        for col in template()["columns"]:
            if col.get("required") and col["field"] not in found:
                problems.append(Problem(path.name, sheet, header_row + 1, col["vi"], None,
                                        f"a header '{col['vi']}' (or '{col['en']}')"))
        if any(p.sheet == sheet for p in problems):
            continue
        for i, cells in enumerate(rows[header_row + 1:], start=header_row + 2):
            if all(c is None or str(c).strip() == "" for c in cells):
                continue
            record: dict = {"file_name": path.name, "sheet": sheet, "row_number": i}
            for j, col in columns.items():
                value = cells[j] if j < len(cells) else None
                blank = value is None or str(value).strip() == ""
                field, kind, label = col["field"], col["type"], col["vi"]

                def bad(expected: str) -> None:
                    problems.append(Problem(path.name, sheet, i, label, value, expected))

                if blank:
                    record[field] = None
                    if col.get("required"):
                        bad("a value (this column is required)")
                elif kind == "portal":
                    pid = str(value).strip()
                    record[field] = pid
                    if pid not in portals:
                        bad("a portal_id from the registry (dbt_project/seeds/registry/portals_registry.csv)")
                elif kind == "date":
                    try:
                        record[field] = _parse_date(value)
                    except ValueError:
                        bad("a date as dd/mm/yyyy or yyyy-mm-dd")
                elif kind == "test_type":
                    record[field] = test_types.get(fold(str(value)))
                    if record[field] is None:
                        bad("one of " + " | ".join(v[0] for v in template()["test_types"].values()))
                elif kind == "yesno":
                    record[field] = yesno.get(fold(str(value)))
                    if record[field] is None:
                        bad("yes or no (có/không, c/k, x, ✓, 1/0)")
                elif kind == "score_1_5":
                    try:
                        record[field] = _parse_number(value)
                        if not 1 <= record[field] <= 5:
                            raise ValueError
                    except ValueError:
                        bad("a number from 1 to 5")
                else:
                    record[field] = str(value).strip()
            for col in template()["columns"]:
                needed_for = col.get("required_for") or []
                if record.get("test_type") in needed_for and record.get(col["field"]) is None \
                        and not any(p.row == i and p.sheet == sheet and p.column == col["vi"] for p in problems):
                    problems.append(Problem(path.name, sheet, i, col["vi"], None,
                                            f"a value for a '{record['test_type']}' test"))
            out.append(record)
    if sheets_with_header == 0:
        problems.append(Problem(path.name, None, None, None, None,
                                "a sheet whose header row has the template's columns (Mã cổng, Ngày kiểm tra, Loại kiểm tra, …)"))
    if problems:
        raise InputRejected(problems)
    return {"survey_responses": out}
