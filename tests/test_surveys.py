"""Survey sheets against the template: accepted spellings, and rejections that name the cell."""

import unicodedata
from datetime import date

import pytest
from openpyxl import Workbook

from portal_index.problems import InputRejected
from portal_index.surveys import parse

HEADERS_VI = ["Mã cổng", "Ngày kiểm tra", "Loại kiểm tra", "Hoàn thành trực tuyến", "Yêu cầu bản giấy gốc",
              "Mức hài lòng (1-5)", "Người khiếm thị hoàn thành"]


def workbook(path, headers, rows, title="Khảo sát"):
    wb = Workbook()
    ws = wb.active
    ws.title = title
    ws.append(headers)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_vietnamese_or_english_headers_in_any_case_and_values_as_people_type_them(tmp_path):
    headers = ["MÃ CỔNG", "test date", "loai kiem tra", "Completed online", "yeu cau ban giay goc",
               "Satisfaction (1-5)", "Người khiếm thị hoàn thành"]
    path = workbook(tmp_path / "s.xlsx", headers, [
        ["hanoi-service", "05/09/2026", "Dịch vụ", "có", "k", None, None],
        ["hanoi-service", date(2026, 9, 6), "dich vu", "x", "Không", None, None],
        ["hanoi-info", "2026-09-07", "hài lòng", None, None, "4,5", None],
        ["hanoi-info", 46272, "khiếm thị", None, None, None, "✓"],
    ])
    rows = parse(path)["survey_responses"]
    assert [r["test_type"] for r in rows] == ["service", "service", "satisfaction", "screen_reader"]
    assert rows[0]["completed_online"] is True and rows[0]["original_papers_demanded"] is False
    assert rows[1]["test_date"] == date(2026, 9, 6) and rows[1]["completed_online"] is True
    assert rows[2]["satisfaction"] == 4.5
    assert rows[3]["test_date"] == date(2026, 9, 7)  # Excel serial date 46272
    assert rows[3]["screen_reader_completed"] is True
    assert rows[0]["sheet"] == "Khảo sát" and rows[0]["row_number"] == 2


def test_a_bad_sheet_reports_every_problem_with_file_sheet_row_column_value_and_expectation(tmp_path):
    path = workbook(tmp_path / "bad.xlsx", HEADERS_VI, [
        ["hanoi-service", "31/02/2026", "dịch vụ", "có", "không", None, None],
        ["atlantis-info", "01/09/2026", "dịch vụ", "maybe", "không", None, None],
        ["hanoi-info", "01/09/2026", "hài lòng", None, None, "7", None],
        ["hanoi-info", "01/09/2026", "khiếm thị", None, None, None, None],
    ])
    with pytest.raises(InputRejected) as err:
        parse(path)
    messages = [str(p) for p in err.value.problems]
    assert messages == [
        "bad.xlsx, sheet 'Khảo sát', row 2, column 'Ngày kiểm tra': got '31/02/2026', expected a date as dd/mm/yyyy or yyyy-mm-dd",
        "bad.xlsx, sheet 'Khảo sát', row 3, column 'Mã cổng': got 'atlantis-info', expected a portal_id from the registry (dbt_project/seeds/registry/portals_registry.csv)",
        "bad.xlsx, sheet 'Khảo sát', row 3, column 'Hoàn thành trực tuyến': got 'maybe', expected yes or no (có/không, c/k, x, ✓, 1/0)",
        "bad.xlsx, sheet 'Khảo sát', row 4, column 'Mức hài lòng (1-5)': got '7', expected a number from 1 to 5",
        "bad.xlsx, sheet 'Khảo sát', row 5, column 'Người khiếm thị hoàn thành': got None, expected a value for a 'screen_reader' test",
    ]


def test_a_sheet_without_the_required_headers_is_rejected(tmp_path):
    path = workbook(tmp_path / "x.xlsx", ["Mã cổng", "Ghi chú"], [["hanoi-info", "?"]])
    with pytest.raises(InputRejected) as err:
        parse(path)
    assert [p.column for p in err.value.problems] == ["Ngày kiểm tra", "Loại kiểm tra"]


TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}


def windows_1258(text: str) -> bytes:
    """Windows-1258 as legacy Vietnamese software writes it: precomposed â ê ô ơ ư ă, tone marks combining."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        parts = unicodedata.normalize("NFD", ch)
        out.append(unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONES))
                   + "".join(c for c in parts if c in TONES))
    return "".join(out).encode("cp1258")


def test_csv_in_utf8_with_bom_and_windows_1258(tmp_path):
    text = "Mã cổng,Ngày kiểm tra,Loại kiểm tra,Hoàn thành trực tuyến,Ghi chú\nhanoi-service,01/09/2026,dịch vụ,có,Đã nộp hồ sơ\n"
    for name, data in (("bom", text.encode("utf-8-sig")), ("1258", windows_1258(text))):
        path = tmp_path / f"s-{name}.csv"
        path.write_bytes(data)
        rows = parse(path)["survey_responses"]
        assert rows[0]["portal_id"] == "hanoi-service" and rows[0]["completed_online"] is True
        assert rows[0]["notes"] == "Đã nộp hồ sơ"  # NFC whatever the file's encoding
