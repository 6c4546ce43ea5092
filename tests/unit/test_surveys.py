"""Survey sheets as evaluators send them: formats, spellings, values, rejections and the template."""

import unicodedata
from datetime import date

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from portal_index.core.problems import InputRejected
from portal_index.core.text import to_windows_1258 as windows_1258
from portal_index.parse.surveys import parse, write_template

SERVICE = ["Mã cổng", "Ngày kiểm tra", "Hoàn thành trực tuyến", "Yêu cầu bản giấy gốc", "Số bước", "Người đánh giá"]


def workbook(path, sheets: dict[str, list[list]]):
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    wb.save(path)
    return path


def rejected(path) -> list[str]:
    with pytest.raises(InputRejected) as err:
        parse(path)
    return [str(p) for p in err.value.problems]


def test_one_sheet_per_test_type_with_values_as_people_type_them(tmp_path):
    path = workbook(
        tmp_path / "s.xlsx",
        {
            "Hướng dẫn": [["Mẫu phiếu"], ["Mã cổng là mã trong danh mục"]],
            "Dịch vụ công": [
                SERVICE,
                ["hanoi-service", "05/09/2026", "có", "k", 7, "A"],
                ["hanoi-service", date(2026, 9, 6), "x", "Không", "8", "A"],
                ["hue-service", 46272, "✓", 0, None, "B"],
            ],
            "hai long": [["MÃ CỔNG", "test date", "Satisfaction (1-5)"], ["hanoi-info", "2026-09-07", "4,5"]],
            "Khiếm thị": [
                ["Mã cổng", "Ngày kiểm tra", "Người khiếm thị hoàn thành"],
                ["hanoi-info", "07/09/2026", "1"],
            ],
            "Dân tộc thiểu số": [
                ["mã  cổng ", "ngay kiem tra", "co noi dung tieng dan toc"],
                ["hanoi-info", "07/09/2026", "no"],
            ],
        },
    )
    rows = parse(path)["survey_responses"]
    assert [(r["sheet"], r["test_type"]) for r in rows] == [("Dịch vụ công", "service")] * 3 + [
        ("hai long", "satisfaction"),
        ("Khiếm thị", "screen_reader"),
        ("Dân tộc thiểu số", "ethnic_minority"),
    ]
    first, second, third = rows[:3]
    assert first["completed_online"] is True and first["original_papers_demanded"] is False and first["steps"] == 7
    assert second["test_date"] == date(2026, 9, 6) and second["steps"] == 8
    assert third["test_date"] == date(2026, 9, 7) and third["completed_online"] is True  # Excel serial date 46272
    assert third["original_papers_demanded"] is False
    assert rows[3]["satisfaction"] == 4.5 and rows[4]["screen_reader_completed"] is True
    assert rows[5]["ethnic_language_content"] is False
    assert first["row_number"] == 2 and rows[3]["row_number"] == 2


@pytest.mark.parametrize(
    "owner, kind, day, portal",
    [
        ("Hà Nội", "dịch vụ công", "01/09/2026", "hanoi-service"),
        ("TP. Hồ Chí Minh", "thông tin", "01/09/2026", "hochiminhcity-info"),
        ("HCM", "Cổng thông tin điện tử", "01/09/2026", "hochiminhcity-info"),
        ("Yên Bái", "dịch vụ công", "01/09/2026", "laocai-service"),  # old name after the merger: the new Lào Cai
        ("Yên Bái", "dịch vụ công", "01/03/2025", "yenbai-service"),  # before it: Yên Bái's own portal
        ("Thừa Thiên Huế", "info", "01/09/2026", "hue-info"),
        (unicodedata.normalize("NFD", "Hoà Bình"), "dịch vụ công", "01/09/2026", "phutho-service"),
        ("Bộ Tài chính", "dịch vụ công", "01/09/2026", "btc-service"),
        ("Ministry of Information and Communications", "thông tin", "01/09/2026", "bkhcn-info"),  # merged ministry
        ("Bộ Thông tin và Truyền thông", "thông tin", "01/02/2025", "btttt-info"),
    ],
)
def test_a_portal_named_by_its_owner_in_any_spelling(tmp_path, owner, kind, day, portal):
    path = workbook(
        tmp_path / "s.xlsx",
        {"Hài lòng": [["Tỉnh / Bộ", "Loại cổng", "Ngày kiểm tra", "Mức hài lòng (1-5)"], [owner, kind, day, 4]]},
    )
    assert parse(path)["survey_responses"][0]["portal_id"] == portal


def test_the_service_sheet_defaults_to_the_service_portal(tmp_path):
    path = workbook(
        tmp_path / "s.xlsx",
        {"Dịch vụ công": [["Tỉnh / Bộ", "Ngày kiểm tra", "Hoàn thành trực tuyến"], ["Cần Thơ", "02/09/2026", "có"]]},
    )
    assert parse(path)["survey_responses"][0]["portal_id"] == "cantho-service"


def test_ods_is_read_like_xlsx(tmp_path):
    path = tmp_path / "s.ods"
    with pd.ExcelWriter(path, engine="odf") as writer:
        pd.DataFrame(
            {"Mã cổng": ["hanoi-info"], "Ngày kiểm tra": ["03/09/2026"], "Mức hài lòng (1-5)": [3.5]}
        ).to_excel(writer, sheet_name="Hài lòng", index=False)
    rows = parse(path)["survey_responses"]
    assert (
        rows[0]["portal_id"] == "hanoi-info"
        and rows[0]["satisfaction"] == 3.5
        and rows[0]["test_type"] == "satisfaction"
    )


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "windows-1258"])
def test_csv_in_utf8_with_or_without_bom_and_windows_1258(tmp_path, encoding):
    text = (
        "Mã cổng,Ngày kiểm tra,Loại kiểm tra,Hoàn thành trực tuyến,Ghi chú\n"
        "hanoi-service,01/09/2026,dịch vụ,có,Đã nộp hồ sơ\n"
    )
    path = tmp_path / "s.csv"
    path.write_bytes(windows_1258(text) if encoding == "windows-1258" else text.encode(encoding))
    rows = parse(path)["survey_responses"]
    assert rows[0]["portal_id"] == "hanoi-service" and rows[0]["completed_online"] is True
    assert rows[0]["notes"] == "Đã nộp hồ sơ"  # NFC, whatever the file's encoding


def test_every_kind_of_rejection_with_its_exact_message(tmp_path):
    path = workbook(
        tmp_path / "bad.xlsx",
        {
            "Dịch vụ công": [
                SERVICE,
                ["hanoi-service", "31/02/2026", "có", "không", 3, "A"],
                ["atlantis-info", "01/09/2026", "maybe", "không", -1, "A"],
                ["hanoi-service", "01/09/2026", None, "không", 3, "A"],
                ["hanoi-service", "02/09/2026", "có", "không", 3, "A"],
                ["hanoi-service", "02/09/2026", "không", "không", 4, "A"],
            ],
            "Hài lòng": [
                ["Tỉnh / Bộ", "Loại cổng", "Ngày kiểm tra", "Mức hài lòng (1-5)"],
                ["Atlantis", "thông tin", "01/09/2026", "7"],
                ["Hà Nội", "cổng X", "01/09/2026", "4"],
            ],
            "Khiếm thị": [["Mã cổng", "Người khiếm thị hoàn thành"], ["hanoi-info", "có"]],
        },
    )
    assert rejected(path) == [
        "bad.xlsx, sheet 'Dịch vụ công', row 2, column 'Ngày kiểm tra (B)': "
        "got '31/02/2026', expected a date as dd/mm/yyyy or yyyy-mm-dd",
        "bad.xlsx, sheet 'Dịch vụ công', row 3, column 'Mã cổng (A)': "
        "got 'atlantis-info', expected a portal_id from the registry (dbt_project/seeds/registry/portals_registry.csv)",
        "bad.xlsx, sheet 'Dịch vụ công', row 3, column 'Hoàn thành trực tuyến (C)': "
        "got 'maybe', expected yes or no (có/không, c/k, x, ✓, 1/0)",
        "bad.xlsx, sheet 'Dịch vụ công', row 3, column 'Số bước (E)': got -1, expected a whole number, 0 or more",
        "bad.xlsx, sheet 'Dịch vụ công', row 4, column 'Hoàn thành trực tuyến (C)': "
        "got None, expected a value for a 'service' test",
        "bad.xlsx, sheet 'Dịch vụ công', row 6, column 'Mã cổng (A)': "
        "got 'hanoi-service'"
        ", expected one row per portal, test type, date and evaluator (sheet 'Dịch vụ công' row 5 is the same test)",
        "bad.xlsx, sheet 'Hài lòng', row 2, column 'Mức hài lòng (1-5) (D)': got '7', expected a number from 1 to 5",
        "bad.xlsx, sheet 'Hài lòng', row 2, column 'Tỉnh / Bộ (A)': "
        "got 'Atlantis', expected a province or ministry name",
        "bad.xlsx, sheet 'Hài lòng', row 3, column 'Loại cổng (B)': got 'cổng X', expected thông tin or dịch vụ công",
        "bad.xlsx, sheet 'Khiếm thị', row 1, column 'Ngày kiểm tra': got None, expected a column with this header",
    ]


def test_a_misspelt_province_gets_a_suggestion_and_a_workbook_without_test_sheets_is_rejected(tmp_path):
    path = workbook(
        tmp_path / "x.xlsx",
        {
            "Hài lòng": [
                ["Tỉnh / Bộ", "Loại cổng", "Ngày kiểm tra", "Mức hài lòng (1-5)"],
                ["Ha Noii", "thông tin", "01/09/2026", 4],
            ]
        },
    )
    assert rejected(path) == [
        "x.xlsx, sheet 'Hài lòng', row 2, column 'Tỉnh / Bộ (A)': got 'Ha Noii', "
        "expected a province or ministry name (did you mean Hà Nội?)"
    ]
    empty = workbook(tmp_path / "e.xlsx", {"Sheet1": [["a", "b"], [1, 2]]})
    assert rejected(empty) == [
        "e.xlsx: got None, expected a sheet named after a test type (Dịch vụ công, Hài lòng, "
        "Khiếm thị, Dân tộc thiểu số) with the template's header row"
    ]
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"this is not a workbook")
    assert rejected(broken)[0].startswith("broken.xlsx: got")


def test_the_blank_template_has_vietnamese_headers_english_notes_and_drop_downs(tmp_path):
    path = write_template(tmp_path / "mau.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["Hướng dẫn", "Dịch vụ công", "Hài lòng", "Khiếm thị", "Dân tộc thiểu số", "Danh mục"]
    assert wb["Danh mục"].sheet_state == "hidden"
    ws = wb["Dịch vụ công"]
    headers = [c.value for c in ws[1]]
    assert headers[:3] == ["Mã cổng", "Tỉnh / Bộ", "Loại cổng"] and "Hoàn thành trực tuyến" in headers
    assert ws["A1"].comment.text.startswith("Portal ID")
    validations = {str(dv.sqref): (dv.type, dv.formula1) for dv in ws.data_validations.dataValidation}
    col = ws.cell(row=1, column=headers.index("Hoàn thành trực tuyến") + 1).column_letter
    assert validations[f"{col}2:{col}2000"] == ("list", "'Danh mục'!$B$2:$B$3")
    assert validations["A2:A2000"][0] == "list"
    assert parse(path)["survey_responses"] == []  # a blank template is a valid, empty file


def test_a_filled_template_reads_back(tmp_path):
    path = write_template(
        tmp_path / "t.xlsx",
        {
            "service": [
                {"portal_id": "danang-service", "test_date": "04/09/2026", "completed_online": "có", "evaluator": "C"}
            ],
            "satisfaction": [
                {"owner_name": "Đà Nẵng", "portal_kind": "thông tin", "test_date": "04/09/2026", "satisfaction": 5}
            ],
        },
    )
    rows = parse(path)["survey_responses"]
    assert [(r["portal_id"], r["test_type"]) for r in rows] == [
        ("danang-service", "service"),
        ("danang-info", "satisfaction"),
    ]
