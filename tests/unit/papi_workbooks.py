"""PAPI workbooks in the official layouts (docs/methodology.md, "PAPI"), built for tests (values are synthetic)."""

import csv
import unicodedata

from openpyxl import Workbook

from portal_index.config import SEEDS_DIR
from portal_index.core.text import strip_diacritics

with open(SEEDS_DIR / "registry" / "provinces_63.csv", encoding="utf-8", newline="") as f:
    PROVINCES = [(r["province_code"], r["name_vi"]) for r in csv.DictReader(f)]
with open(SEEDS_DIR / "registry" / "province_crosswalk.csv", encoding="utf-8", newline="") as f:
    NEW_OF = {r["old_province_code"]: r["new_province_code"] for r in csv.DictReader(f)}
with open(SEEDS_DIR / "registry" / "provinces_34.csv", encoding="utf-8", newline="") as f:
    NEW_NAME = {r["province_code"]: r["name_vi"] for r in csv.DictReader(f)}
DIMENSIONS = {
    1: ("Tham gia của người dân ở cấp cơ sở", "Participation at Local Levels"),
    2: ("Công khai, minh bạch", "Transparency"),
    3: ("Trách nhiệm giải trình với người dân", "Vertical Accountability"),
    4: ("Kiểm soát tham nhũng trong khu vực công", "Control of Corruption"),
    5: ("Thủ tục hành chính công", "Public Administrative Procedures"),
    6: ("Cung ứng dịch vụ công", "Public Service Delivery"),
    7: ("Quản trị môi trường", "Environmental Governance"),
    8: ("Quản trị điện tử", "E-Governance"),
}


def score(code: str, dimension: int, year: int) -> float:
    return round(1 + ((int(code) * 7 + dimension * 13 + year) % 90) / 10 + 0.0123, 4)


def header_spelling(i: int, name: str) -> str:
    """Inconsistent headers as published: trailing spaces, no diacritics, NFD."""
    return [name, name + "  ", strip_diacritics(name), unicodedata.normalize("NFD", name)][i % 4]


def wide_sheet(
    ws,
    year: int,
    label: str = "Chỉ số nội dung",
    variants: bool = False,
    metadata_rows: bool = False,
    separators: bool = False,
    dimensions=range(1, 9),
    drop: str | None = None,
    header_override=None,
):
    columns = []  # (column index, code) for province columns
    header = ["Chỉ số / Indicator", "Thang điểm/Scale"]
    for i, (code, name) in enumerate(PROVINCES):
        if separators and i and i % 10 == 0:
            header.append(None)
        if code == drop:
            continue
        columns.append((len(header), code))
        header.append(
            header_override.get(code, header_spelling(i, name)) if header_override else header_spelling(i, name)
        )
    if metadata_rows:  # the 2024 workbook: four rows mapping each column to the 34 new provinces
        for title, value in (
            ("Tỉnh/thành phố sau sắp xếp (34)", lambda c: NEW_NAME[NEW_OF[c]]),
            ("Mã tỉnh mới", lambda c: NEW_OF[c]),
            ("Ghi chú", lambda c: "sáp nhập"),
            ("Nguồn", lambda c: "Nghị quyết 202/2025/QH15"),
        ):
            row = [title, None] + [None] * (len(header) - 2)
            for j, code in columns:
                row[j] = value(code)
            ws.append(row)
    ws.append(header)

    def values(dim, offset=0.0, as_text=False):
        row = [None] * len(header)
        for j, code in columns:
            v = score(code, dim, year) + offset
            row[j] = f"{v - 0.3:.2f} - {v + 0.3:.2f}" if as_text else round(v, 4)
        return row

    for dim in dimensions:
        vi, en = DIMENSIONS[dim]
        title = f"{label} {dim}: {vi if label.startswith('Chỉ') else en}"
        if variants:
            ws.append([title, "1-10"] + [None] * (len(header) - 2))
            for name, offset, text in (
                ("Không trọng số/Unweighted", 0.0, False),
                ("Có trọng số/Weighted", 0.05, False),
                ("Khoảng tin cậy 95%/95% CI", 0.0, True),
                ("Sai số chuẩn/Standard Error", None, False),
            ):
                row = (
                    values(dim, offset or 0.0, text)
                    if offset is not None
                    else [None, None] + [0.05] * (len(header) - 2)
                )
                ws.append([name, None] + row[2:])
        else:
            ws.append([title, "1-10"] + values(dim)[2:])
        ws.append([f"Chỉ số nội dung thành phần {dim}.1 / Sub-dimension {dim}.1", "0.25-2.5"] + values(dim, -2.0)[2:])
        ws.append(["Tỷ lệ người dân biết về chính sách (%)", "0-100"] + values(dim, 40.0)[2:])


def wide_workbook(path, sheets: dict[int, dict]):
    wb = Workbook()
    wb.remove(wb.active)
    notes = wb.create_sheet("Ghi chú")
    notes.append(["PAPI - Chỉ số Hiệu quả Quản trị và Hành chính công cấp tỉnh"])
    for year, options in sheets.items():
        wide_sheet(wb.create_sheet(f"{year}_VIE_ENG"), year, **options)
    wb.save(path)
    return path


def long_workbook(path, year: int):
    """2011-2017: one row per province, one column per dimension (six dimensions)."""
    wb = Workbook()
    ws = wb.active
    ws.title = f"PAPI {year}"
    ws.append([f"PAPI {year} - Điểm các chỉ số nội dung theo tỉnh"])
    ws.append(["Tỉnh/Thành phố"] + [f"Chỉ số nội dung {d}: {DIMENSIONS[d][0]}" for d in range(1, 7)] + ["Tổng điểm"])
    for i, (code, name) in enumerate(PROVINCES):
        ws.append([header_spelling(i, name)] + [score(code, d, year) for d in range(1, 7)] + [None])
    ws.append(["Toàn quốc / National"] + [5.0] * 6 + [30.0])
    wb.save(path)
    return path
