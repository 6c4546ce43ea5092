"""PAPI indicators: the tidy CSV `province,year,dimension,score`, and the official workbooks.

Tidy CSV: province by name (any common spelling, 63-province list as PAPI publishes) or by code;
dimension as `8` or `D8`; score with a decimal point or comma.

Official provincial indicator workbooks (.xlsx), in the layouts PAPI has published (docs/methodology.md, "PAPI"):
- 2018 onward: one row per indicator and one column per province, a label column and a
  "Thang điểm/Scale" column; dimension rows are found by number ("Chỉ số nội dung 8" or
  "Dimension 8"); where a dimension has Unweighted / Weighted / 95% CI / Standard Error rows, the
  unweighted one is read unless another variant is asked for. The 2024 workbook's metadata rows (the
  34 new provinces) and empty separator columns are skipped: the header is the row naming the most
  of the 63 provinces.
- 2011-2017: one row per province, one column per dimension (no dimension 8).
A sheet's year comes from its name (`2020_VIE_ENG`), else from the file name; each row records the
workbook's own year (`source_year`), so that staging keeps one canonical value per year.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from portal_index.core.names import UnknownProvince, province_codes, resolve_province
from portal_index.core.periods import papi_first_year
from portal_index.core.periods import today as vietnam_today
from portal_index.core.problems import InputRejected, Problem, column_letter
from portal_index.core.text import fold
from portal_index.parse.spreadsheets import SPREADSHEETS, read_csv_rows, read_sheets

COLUMNS = ("province", "year", "dimension", "score")
_DIMENSION = re.compile(r"^d?\s*([1-8])$", re.IGNORECASE)


def parse(path: Path, variant: str = "unweighted", landed_on: date | None = None) -> dict[str, list[dict]]:
    """PAPI rows of a workbook or tidy CSV; a year before PAPI's first nationwide survey or after
    the year the file landed (`landed_on`, default today) is a rejection."""
    if path.suffix.lower() in SPREADSHEETS:
        tables = parse_workbook(path, variant)
    else:
        tables = parse_tidy_csv(path)
    _check_years(path, tables["papi_scores"], (landed_on or vietnam_today()).year)
    return tables


def _check_years(path: Path, rows: list[dict], last: int) -> None:
    first = papi_first_year()
    expected = f"a PAPI year from {first} (its first nationwide survey) to {last} (the year the file landed)"
    # a workbook's year is its sheet's: one problem per sheet; a CSV's is per row
    bad = sorted(
        {
            (r.get("sheet"), None if r.get("sheet") else r.get("row_number"), r["year"])
            for r in rows
            if not first <= r["year"] <= last
        },
        key=lambda t: (t[0] or "", t[1] or 0),
    )
    if bad:
        raise InputRejected([Problem(path.name, sheet, row, "year", year, expected) for sheet, row, year in bad[:50]])


def parse_tidy_csv(path: Path) -> dict[str, list[dict]]:
    reader = iter(read_csv_rows(path, clean=lambda v: v))
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InputRejected(
            [Problem(path.name, None, 1, c, None, f"a header {c!r} (columns: {', '.join(COLUMNS)})") for c in missing]
        )
    at = {c: header.index(c) for c in COLUMNS}
    problems: list[Problem] = []
    rows: list[dict] = []
    seen: dict[tuple, int] = {}
    for n, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        cell = {c: (cells[at[c]].strip() if at[c] < len(cells) else "") for c in COLUMNS}
        record = {"file_name": path.name, "row_number": n, "province_name_raw": cell["province"]}
        try:
            record["province_code"] = resolve_province(cell["province"], era="63")
        except UnknownProvince as e:
            problems.append(
                Problem(
                    path.name,
                    None,
                    n,
                    "province",
                    cell["province"],
                    "a province name or code from the 63-province list"
                    + (f" (did you mean {', '.join(e.suggestions)}?)" if e.suggestions else ""),
                )
            )
        try:
            record["year"] = int(cell["year"])
        except ValueError:
            problems.append(Problem(path.name, None, n, "year", cell["year"], "a year as a whole number"))
        m = _DIMENSION.match(cell["dimension"])
        if m:
            record["dimension"] = int(m.group(1))
        else:
            problems.append(Problem(path.name, None, n, "dimension", cell["dimension"], "1 to 8, or D1 to D8"))
        try:
            record["score"] = float(cell["score"].replace(",", "."))
            if not 0 <= record["score"] <= 10:
                raise ValueError
        except ValueError:
            problems.append(Problem(path.name, None, n, "score", cell["score"], "a dimension score from 0 to 10"))
        k = (record.get("province_code"), record.get("year"), record.get("dimension"))
        if None not in k:
            if k in seen:
                problems.append(
                    Problem(
                        path.name,
                        None,
                        n,
                        "province",
                        cell["province"],
                        f"one row per province, year and dimension (row {seen[k]} has the same)",
                    )
                )
            seen[k] = n
        rows.append(record)
    if not rows and not problems:
        problems.append(Problem(path.name, None, None, None, None, "at least one data row"))
    if problems:
        raise InputRejected(problems)
    return {"papi_scores": rows}


# ---- official workbooks ------------------------------------------------------------------------

_YEAR = re.compile(r"(?<!\d)(20[0-9]{2})(?!\d)")
_DIMENSION_LABEL = re.compile(r"(?:chi so noi dung|(?<![-\w])dimension)\s*(\d{1,2})(?![.\d])")
VARIANTS = {  # folded words that mark a row variant; checked in this order
    "unweighted": ("unweighted", "khong trong so", "chua trong so"),
    "ci": ("95%", "confidence", "khoang tin cay", " ci"),
    "se": ("standard error", "sai so chuan", "std. error"),
    "weighted": ("weighted", "co trong so", "trong so"),
}


def _variant(label: str) -> str | None:
    folded = " " + fold(label)
    for name, words in VARIANTS.items():
        if any(w in folded for w in words):
            return name
    return None


def _number(value) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).strip().replace(",", "."))
    except ValueError:
        return None


def _province_columns(rows: list[list], limit: int = 20) -> tuple[int | None, dict[int, str]]:
    """(header row index, {column: province code}) for the row naming the most distinct provinces."""
    best: tuple[int | None, dict[int, str]] = (None, {})
    for i, row in enumerate(rows[:limit]):
        found: dict[int, str] = {}
        for j, cell in enumerate(row):
            if isinstance(cell, str) and cell.strip():
                try:
                    found[j] = resolve_province(cell, era="63")
                except UnknownProvince:
                    pass
        if len(set(found.values())) > len(set(best[1].values())):
            best = (i, found)
    return best


def _sheet_year(sheet: str, path: Path) -> int | None:
    m = _YEAR.search(sheet) or _YEAR.search(path.stem)
    return int(m.group(1)) if m else None


def parse_workbook(path: Path, variant: str = "unweighted") -> dict[str, list[dict]]:
    source = _YEAR.search(path.stem)
    source_year = int(source.group(1)) if source else None
    problems: list[Problem] = []
    out: list[dict] = []
    sheets_read = 0
    for sheet, rows in read_sheets(path):
        year = _sheet_year(sheet, path)
        if year is None:
            continue  # notes or other sheets
        base = {"file_name": path.name, "sheet": sheet, "year": year, "source_year": source_year}
        header_at, columns = _province_columns(rows)
        if len(set(columns.values())) >= 30:  # one column per province (2018 onward)
            sheets_read += 1
            problems += _check_header(path, sheet, header_at, rows[header_at], columns)
            out += _wide_rows(path, sheet, rows, header_at, columns, variant, base, problems)
            continue
        long_problems: list[Problem] = []
        long = _long_rows(path, sheet, rows, base, long_problems)
        if len({r["province_code"] for r in long}) >= 10:  # one row per province (2011-2017)
            sheets_read += 1
            out += long
            problems += long_problems
    if sheets_read == 0:
        problems.append(
            Problem(
                path.name,
                None,
                None,
                None,
                None,
                "a PAPI provincial indicators sheet: one column per province (2018 on) or one row "
                "per province (2011-2017), with the year in the sheet or file name",
            )
        )
    if problems:
        raise InputRejected(problems)
    return {"papi_scores": out}


def _check_header(path, sheet, at, header, columns) -> list[Problem]:
    problems = []
    codes = list(columns.values())
    for code in sorted({c for c in codes if codes.count(c) > 1}):
        cols = [column_letter(j) for j, c in columns.items() if c == code]
        problems.append(Problem(path.name, sheet, at + 1, ", ".join(cols), code, "each province in one column only"))
    missing = sorted(set(province_codes("63")) - set(codes))
    if missing:
        unknown = [
            f"{column_letter(j)}={c!r}"
            for j, c in enumerate(header)
            if isinstance(c, str)
            and c.strip()
            and j not in columns
            and j > 0
            and _number(c) is None
            and not any(
                w in fold(c)
                for w in (
                    "thang diem",
                    "scale",
                    "chi so",
                    "indicator",
                    "toan quoc",
                    "national",
                    "trung binh",
                    "average",
                )
            )
        ]
        problems.append(
            Problem(
                path.name,
                sheet,
                at + 1,
                None,
                ", ".join(unknown) or None,
                f"a column for each of the 63 provinces; missing {', '.join(missing)}",
            )
        )
    return problems


def _wide_rows(path, sheet, rows, header_at, columns, variant, base, problems) -> list[dict]:
    """Dimension rows by number; the requested variant, or the plain row when there are no variants."""
    found: dict[int, dict[str, int]] = {}  # dimension -> {variant or 'plain': row index}
    current = None
    for i in range(header_at + 1, len(rows)):
        label = next((str(c) for c in rows[i][:2] if isinstance(c, str) and c.strip()), "")
        m = _DIMENSION_LABEL.search(fold(label))
        has_values = any(_number(rows[i][j]) is not None for j in columns if j < len(rows[i]))
        if m:
            current = int(m.group(1))
            kind = _variant(label) or "plain"
            if has_values:
                found.setdefault(current, {}).setdefault(kind, i)
            continue
        if current is not None and label and has_values:
            kind = _variant(label)
            if kind:  # a variant row under the dimension's heading
                found.setdefault(current, {}).setdefault(kind, i)
                continue
        if label and not _variant(label):
            current = None  # another indicator: variant rows below it are not the dimension's
    out = []
    for dimension, variants in sorted(found.items()):
        i = variants.get(variant, variants.get("plain") if variant == "unweighted" else None)
        if i is None:
            problems.append(
                Problem(
                    path.name,
                    sheet,
                    None,
                    None,
                    ", ".join(sorted(variants)),
                    f"the {variant} row for dimension {dimension}",
                )
            )
            continue
        for j, code in columns.items():
            cell = rows[i][j] if j < len(rows[i]) else None
            if cell is None:
                continue
            score = _number(cell)
            if score is None or not 0 <= score <= 10:
                problems.append(
                    Problem(path.name, sheet, i + 1, column_letter(j), cell, "a dimension score from 0 to 10")
                )
                continue
            out.append(
                {
                    **base,
                    "row_number": i + 1,
                    "province_name_raw": str(rows[header_at][j]).strip(),
                    "province_code": code,
                    "dimension": dimension,
                    "score": score,
                    "variant": variant if variant in variants else "plain",
                }
            )
    if not found:
        problems.append(
            Problem(path.name, sheet, None, None, None, "dimension rows labelled 'Chỉ số nội dung N' or 'Dimension N'")
        )
    return out


def _long_rows(path, sheet, rows, base, problems) -> list[dict]:
    """2011-2017: one row per province, dimension columns found by number in the header."""
    header_at, dims = None, {}
    for i, row in enumerate(rows[:20]):
        found = {
            j: int(m.group(1))
            for j, c in enumerate(row)
            if isinstance(c, str) and (m := _DIMENSION_LABEL.search(fold(c)))
        }
        if len(found) >= 3:
            header_at, dims = i, found
            break
    if header_at is None:
        problems.append(Problem(path.name, sheet, None, None, None, "a header row with dimension columns"))
        return []
    out, seen = [], set()
    for i in range(header_at + 1, len(rows)):
        row = rows[i]
        name = next((c for c in row[:3] if isinstance(c, str) and c.strip()), None)
        if name is None:
            continue
        try:
            code = resolve_province(name, era="63")
        except UnknownProvince:
            if any(_number(row[j]) is not None for j in dims if j < len(row)) and not any(
                w in fold(name) for w in ("toan quoc", "national", "trung binh", "average")
            ):
                problems.append(
                    Problem(path.name, sheet, i + 1, "A", name, "a province name from the 63-province list")
                )
            continue
        if code in seen:
            problems.append(Problem(path.name, sheet, i + 1, "A", name, "one row per province"))
        seen.add(code)
        for j, dimension in dims.items():
            score = _number(row[j]) if j < len(row) else None
            if score is not None:
                out.append(
                    {
                        **base,
                        "row_number": i + 1,
                        "province_name_raw": name.strip(),
                        "province_code": code,
                        "dimension": dimension,
                        "score": score,
                        "variant": "plain",
                    }
                )
    return out
