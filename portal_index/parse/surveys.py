"""Evaluators' survey sheets (XLSX, ODS or CSV) against the template `templates/survey.yml`.

Reading uses calamine (fast, and reads ODS as well as XLSX); the blank template is written with
openpyxl, with Vietnamese headers, English notes and drop-down validation.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import yaml

from portal_index.core.names import UnknownMinistry, UnknownProvince, resolve_ministry_on, resolve_province_on
from portal_index.core.periods import earliest_test_date
from portal_index.core.periods import today as vietnam_today
from portal_index.core.problems import InputRejected, Problem, column_letter
from portal_index.core.raw_tables import MAX_MAGNITUDE
from portal_index.core.registry import find_portal, portals, validity_problem
from portal_index.core.text import fold, identity
from portal_index.parse.spreadsheets import read_sheets

TEMPLATE = Path(__file__).parent / "templates" / "survey.yml"
REGISTRY_HINT = "a portal_id from the registry (dbt_project/seeds/registry/portals_registry.csv)"
# Columns that identify one test (text compared by `identity`: case, Unicode form and spacing aside):
# a later file with a row of the same key supersedes the earlier row.
TEST_KEY = ("portal_id", "test_type", "test_date", "evaluator")


@lru_cache(maxsize=1)
def template() -> dict:
    return yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))


def _vocab(values: dict[str, list[str]]) -> dict[str, str]:
    return {fold(label): name for name, labels in values.items() for label in labels}


@lru_cache(maxsize=1)
def _lookups() -> dict:
    t = template()
    columns = {c["field"]: c for c in t["common_columns"]}
    for sheet in t["sheets"].values():
        columns |= {c["field"]: c for c in sheet["columns"]}
    return {
        "headers": {fold(label): col for col in columns.values() for label in (col["vi"], col["en"], col["field"])},
        "sheet_types": _vocab({name: s["names"] + [s["vi"], s["en"]] for name, s in t["sheets"].items()}),
        "test_types": _vocab({name: s["names"] for name, s in t["sheets"].items()}),
        "kinds": _vocab(t["portal_kinds"]),
        "yesno": {fold(v): True for v in t["yes_values"]} | {fold(v): False for v in t["no_values"]},
        "marks": frozenset(fold(v) for v in t["mark_values"]),
        "portal_ids": frozenset(p["portal_id"] for p in portals()),
    }


def _parse_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and 20000 < value < 80000:  # Excel serial date
        return date(1899, 12, 30) + timedelta(days=int(value))
    text = str(value).strip()
    for fmt in ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            pass
    raise ValueError


def _parse_number(value) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        number = float(str(value).strip().replace(",", "."))
    if not math.isfinite(number) or abs(number) > MAX_MAGNITUDE:  # no survey count or duration is that large
        raise ValueError
    return number


def _convert(kind: str, value, lk: dict):
    """Value of one cell, or raise ValueError with what was expected."""
    if kind == "date":
        try:
            return _parse_date(value)
        except ValueError:
            raise ValueError("a date as dd/mm/yyyy or yyyy-mm-dd") from None
    if kind == "yesno":
        text = fold(str(int(value)) if isinstance(value, float) and value.is_integer() else str(value))
        if text not in lk["yesno"]:
            raise ValueError("yes or no (có/không, c/k, x, ✓, 1/0)")
        return lk["yesno"][text]
    if kind == "score_1_5":
        try:
            number = _parse_number(value)
        except ValueError:
            number = None
        if number is None or not 1 <= number <= 5:
            raise ValueError("a number from 1 to 5")
        return number
    if kind == "count":
        try:
            number = _parse_number(value)
        except ValueError:
            number = -1
        if number < 0 or not float(number).is_integer():
            raise ValueError("a whole number, 0 or more")
        return int(number)
    if kind == "number":
        try:
            number = _parse_number(value)
        except ValueError:
            raise ValueError("a number") from None
        if number < 0:
            raise ValueError("a number, 0 or more")
        return number
    if kind == "test_type":
        if fold(str(value)) not in lk["test_types"]:
            raise ValueError("one of dịch vụ / hài lòng / khiếm thị / dân tộc")
        return lk["test_types"][fold(str(value))]
    if kind == "portal_kind":
        if fold(str(value)) not in lk["kinds"]:
            raise ValueError("thông tin or dịch vụ công")
        return lk["kinds"][fold(str(value))]
    if kind == "portal":
        text = str(value).strip()
        if text not in lk["portal_ids"]:
            raise ValueError(REGISTRY_HINT)
        return text
    return str(int(value) if isinstance(value, float) and value.is_integer() else value).strip()


def _resolve_portal(record: dict, default_kind: str | None) -> tuple[str | None, str | None]:
    """(portal_id, None) or (None, what was expected) from the owner's name and the portal kind."""
    kind = record.get("portal_kind") or default_kind
    if kind is None:
        return None, "Loại cổng: thông tin or dịch vụ công, to find the portal from Tỉnh / Bộ"
    day = record["test_date"]
    name = record["owner_name"]
    try:
        era, code = resolve_province_on(name, day)
        portal = find_portal("province", code, era, kind, day)
    except UnknownProvince as province_error:
        try:
            portal = find_portal("ministry", resolve_ministry_on(name, day), None, kind, day)
        except UnknownMinistry:
            hint = f" (did you mean {', '.join(province_error.suggestions)}?)" if province_error.suggestions else ""
            return None, f"a province or ministry name{hint}"
    if portal is None:
        return None, f"a province or ministry with a {kind} portal on {day:%d/%m/%Y}"
    return portal["portal_id"], None


def parse(path: Path, landed_on: date | None = None) -> dict[str, list[dict]]:
    """Every valid row of every test sheet, or InputRejected with every problem found. A test date
    must lie between the earliest possible assessment and the day the file landed (`landed_on`,
    default today), and a portal given by its code must be in the registry on that date."""
    earliest, latest = earliest_test_date(), landed_on or vietnam_today()
    dates_expected = (
        f"a test date from {earliest:%d/%m/%Y} (Decree 42/2022/NĐ-CP in force) "
        f"to {latest:%d/%m/%Y} (the day the file landed)"
    )
    lk = _lookups()
    t = template()
    problems: list[Problem] = []
    out: list[dict] = []
    seen: dict[tuple, tuple[str, int]] = {}
    found_sheet = False
    for sheet, rows in read_sheets(path):
        sheet_type = lk["sheet_types"].get(fold(sheet))
        header_at = next(
            (
                i
                for i, r in enumerate(rows[:10])
                if sum(1 for c in r if c is not None and fold(str(c)) in lk["headers"]) >= 2
            ),
            None,
        )
        if (
            header_at is not None
            and not sheet_type
            and not any(
                c is not None and lk["headers"].get(fold(str(c)), {}).get("field") == "test_date"
                for c in rows[header_at]
            )
        ):
            header_at = None  # not a test sheet: no test type in its name, no test dates
        if header_at is None:
            if sheet_type:
                problems.append(
                    Problem(
                        path.name,
                        sheet,
                        None,
                        None,
                        None,
                        "a header row with the template's columns (Mã cổng, Ngày kiểm tra, …)",
                    )
                )
            continue  # an instructions or lists sheet
        found_sheet = True
        columns = {
            j: lk["headers"][fold(str(c))]
            for j, c in enumerate(rows[header_at])
            if c is not None and fold(str(c)) in lk["headers"]
        }
        labels = {col["field"]: f"{rows[header_at][j]} ({column_letter(j)})" for j, col in columns.items()}
        fields = set(labels)
        spec = t["sheets"].get(sheet_type, {})
        needed = ["test_date"] + [c["field"] for c in spec.get("columns", []) if c.get("required")]
        if not sheet_type:
            needed.append("test_type")
        header_problems = [
            Problem(path.name, sheet, header_at + 1, _template_label(f), None, "a column with this header")
            for f in needed
            if f not in fields
        ]
        if "portal_id" not in fields and "owner_name" not in fields:
            header_problems.append(
                Problem(
                    path.name,
                    sheet,
                    header_at + 1,
                    "Mã cổng",
                    None,
                    "a column Mã cổng, or Tỉnh / Bộ with Loại cổng, to name the portal",
                )
            )
        if header_problems:
            problems += header_problems
            continue
        blank_means_no = _checklist_columns(rows[header_at + 1 :], columns, lk)
        for i, cells in enumerate(rows[header_at + 1 :], start=header_at + 2):
            if all(c is None for c in cells):
                continue
            record: dict = {"file_name": path.name, "sheet": sheet, "row_number": i}
            row_problems: list[Problem] = []
            for j, col in columns.items():
                value = cells[j] if j < len(cells) else None
                if value is None:
                    record[col["field"]] = False if j in blank_means_no else None
                    continue
                try:
                    record[col["field"]] = _convert(col["type"], value, lk)
                except ValueError as e:
                    record[col["field"]] = None
                    row_problems.append(Problem(path.name, sheet, i, labels[col["field"]], value, str(e)))
            bad = {p.column for p in row_problems}
            record["test_type"] = sheet_type or record.get("test_type")
            required = (
                ["test_date"]
                + [c["field"] for c in t["sheets"].get(record["test_type"], {}).get("columns", []) if c.get("required")]
                + ([] if sheet_type else ["test_type"])
            )
            for f in required:
                if record.get(f) is None and labels.get(f) not in bad:
                    expected = f"a value for a '{record['test_type']}' test" if record["test_type"] else "a value"
                    row_problems.append(Problem(path.name, sheet, i, labels.get(f, _template_label(f)), None, expected))
            if record.get("portal_id") is None and not bad & {labels.get("portal_id"), labels.get("portal_kind")}:
                if record.get("owner_name") and record.get("test_date"):
                    default_kind = t["sheets"].get(record["test_type"] or "", {}).get("default_kind")
                    record["portal_id"], expected = _resolve_portal(record, default_kind)
                    if expected:
                        row_problems.append(
                            Problem(path.name, sheet, i, labels["owner_name"], record["owner_name"], expected)
                        )
                elif not record.get("owner_name"):
                    row_problems.append(
                        Problem(
                            path.name,
                            sheet,
                            i,
                            labels.get("portal_id", labels.get("owner_name")),
                            None,
                            "a portal: Mã cổng, or Tỉnh / Bộ with Loại cổng",
                        )
                    )
            day = record.get("test_date")
            if day is not None and not bad & {labels.get("test_date")}:
                if not earliest <= day <= latest:
                    row_problems.append(
                        Problem(path.name, sheet, i, labels["test_date"], f"{day:%d/%m/%Y}", dates_expected)
                    )
                elif record.get("portal_id") and "portal_id" in labels and labels["portal_id"] not in bad:
                    why = validity_problem(record["portal_id"], day)
                    if why:
                        row_problems.append(Problem(path.name, sheet, i, labels["portal_id"], record["portal_id"], why))
            if not row_problems:
                key = tuple(identity(v) if isinstance(v := record.get(k), str) else v for k in TEST_KEY)
                if key in seen:
                    where = seen[key]
                    row_problems.append(
                        Problem(
                            path.name,
                            sheet,
                            i,
                            labels.get("portal_id", labels.get("owner_name")),
                            record["portal_id"],
                            f"one row per portal, test type, date and evaluator "
                            f"(sheet {where[0]!r} row {where[1]} is the same test)",
                        )
                    )
                seen[key] = (sheet, i)
            problems += row_problems
            record.pop("portal_kind", None)
            out.append(record)
    if not found_sheet and not problems:
        problems.append(
            Problem(
                path.name,
                None,
                None,
                None,
                None,
                "a sheet named after a test type (Dịch vụ công, Hài lòng, Khiếm thị, Dân tộc thiểu số) "
                "with the template's header row",
            )
        )
    if problems:
        raise InputRejected(problems)
    return {"survey_responses": out}


def _checklist_columns(rows: list[list], columns: dict[int, dict], lk: dict) -> set[int]:
    """The yes/no columns filled the checklist way: every filled cell is a mark (x, ✓), none an
    explicit answer; in them a blank cell means no."""
    out = set()
    for j, col in columns.items():
        if col["type"] != "yesno":
            continue
        filled = {fold(str(r[j])) for r in rows if j < len(r) and r[j] is not None}
        if filled and filled <= lk["marks"]:
            out.add(j)
    return out


def _template_label(field: str) -> str:
    t = template()
    for col in t["common_columns"] + [c for s in t["sheets"].values() for c in s["columns"]]:
        if col["field"] == field:
            return col["vi"]
    return field


def write_template(path: Path, rows: dict[str, list[dict]] | None = None) -> Path:
    """A workbook with one sheet per test type: Vietnamese headers, English notes, drop-downs.

    `rows` ({test type: [{field: value}]}) fills the sheets, as the demo does.
    """
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    t = template()
    wb = Workbook()
    guide = wb.active
    guide.title = "Hướng dẫn"
    guide.append(["Mẫu phiếu đánh giá cổng thông tin / Portal evaluation template", f"v{t['version']}"])
    guide.append(
        [
            "Mỗi trang là một loại kiểm tra; mỗi dòng là một lần kiểm tra một cổng.",
            "Each sheet is one test type; each row is one test of one portal.",
        ]
    )
    guide.append(
        ["Ghi Mã cổng, hoặc Tỉnh / Bộ và Loại cổng.", "Give the portal ID, or the province/ministry and portal kind."]
    )
    guide.append(
        ["Ngày: dd/mm/yyyy. Có/không: chọn trong danh sách.", "Dates: dd/mm/yyyy. Yes/no: pick from the list."]
    )
    guide.append(
        [
            "Cột có/không chỉ đánh dấu x hoặc ✓: ô để trống nghĩa là không. "
            "Cột có ghi có/không: ô để trống là chưa có dữ liệu.",
            "A yes/no column filled only with marks (x, ✓): a blank cell means no. "
            "A column with explicit có/không answers: a blank cell means no data.",
        ]
    )
    for sheet in t["sheets"].values():
        guide.append([f"{sheet['vi']}", f"{sheet['en']}: {sheet['note']}"])
    guide.column_dimensions["A"].width = 60
    guide.column_dimensions["B"].width = 90

    lists = wb.create_sheet("Danh mục")
    registry = sorted(p["portal_id"] for p in portals())
    columns = {
        "A": ["Danh sách mã cổng"] + registry,
        "B": ["Danh sách có/không", "có", "không"],
        "C": ["Danh sách loại cổng", "thông tin", "dịch vụ công"],
    }
    for letter, values in columns.items():
        for n, value in enumerate(values, start=1):
            lists[f"{letter}{n}"] = value
    lists.sheet_state = "hidden"
    ranges = {
        "portal": f"'Danh mục'!$A$2:$A${len(registry) + 1}",
        "yesno": "'Danh mục'!$B$2:$B$3",
        "portal_kind": "'Danh mục'!$C$2:$C$3",
    }

    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
    for name, sheet in t["sheets"].items():
        ws = wb.create_sheet(sheet["vi"], index=len(wb.sheetnames) - 1)
        cols = [c for c in t["common_columns"] if c["field"] != "test_type"] + sheet["columns"]
        ws.append([c["vi"] for c in cols])
        for j, col in enumerate(cols, start=1):
            cell = ws.cell(row=1, column=j)
            cell.font, cell.fill = bold, fill
            note = col["en"] + (f": {col['help']}" if col.get("help") else "")
            cell.comment = Comment(note, "portal-index")
            ws.column_dimensions[cell.column_letter].width = max(14, len(col["vi"]) + 4)
            target = f"{cell.column_letter}2:{cell.column_letter}2000"
            dv = None
            if col["type"] in ranges:
                dv = DataValidation(type="list", formula1=ranges[col["type"]], allow_blank=True)
            elif col["type"] == "score_1_5":
                dv = DataValidation(type="decimal", operator="between", formula1="1", formula2="5", allow_blank=True)
            elif col["type"] == "count":
                dv = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True)
            elif col["type"] == "date":
                dv = DataValidation(type="date", operator="greaterThan", formula1="36526", allow_blank=True)
            if dv is not None:
                dv.error = f"{col['vi']}: {col.get('help', col['en'])}"
                dv.showErrorMessage = True
                ws.add_data_validation(dv)
                dv.add(target)
        ws.freeze_panes = "A2"
        for row in (rows or {}).get(name, []):
            ws.append([row.get(c["field"]) for c in cols])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path
