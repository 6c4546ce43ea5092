"""PAPI indicators as a tidy CSV: `province,year,dimension,score`.

Province by name (any common spelling, 63-province list as PAPI publishes) or by code; dimension as
`8` or `D8`; score with a decimal point or comma. The official workbooks are read elsewhere.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from portal_index.names import UnknownProvince, resolve_province
from portal_index.problems import InputRejected, Problem

COLUMNS = ("province", "year", "dimension", "score")
_DIMENSION = re.compile(r"^d?\s*([1-8])$", re.IGNORECASE)


def parse(path: Path) -> dict[str, list[dict]]:
    text = path.read_bytes().decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InputRejected([Problem(path.name, None, 1, c, None, f"a header {c!r} (columns: {', '.join(COLUMNS)})")
                             for c in missing])
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
            problems.append(Problem(path.name, None, n, "province", cell["province"],
                                    "a province name or code from the 63-province list" +
                                    (f" (did you mean {', '.join(e.suggestions)}?)" if e.suggestions else "")))
        try:
            record["year"] = int(cell["year"])
            if not 2009 <= record["year"] <= 2100:
                raise ValueError
        except ValueError:
            problems.append(Problem(path.name, None, n, "year", cell["year"], "a year from 2009 on"))
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
                problems.append(Problem(path.name, None, n, "province", cell["province"],
                                        f"one row per province, year and dimension (row {seen[k]} has the same)"))
            seen[k] = n
        rows.append(record)
    if not rows and not problems:
        problems.append(Problem(path.name, None, None, None, None, "at least one data row"))
    if problems:
        raise InputRejected(problems)
    return {"papi_scores": rows}
