"""Files made elsewhere and files made to hurt: each ends as a clear rejection of that file (or
loads, where it is a legitimate convention), never as a crash, a stall or unbounded memory."""

import io
import re
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import duckdb
import pytest
from openpyxl import Workbook

from portal_index.config import Home
from portal_index.core.problems import InputRejected
from portal_index.core.text import to_windows_1258
from portal_index.land import ingest
from portal_index.land.ingest import ingest_file, ingest_source
from portal_index.parse import papi, surveys
from portal_index.parse.fetch_results import parse_crawl, parse_probes
from portal_index.parse.spreadsheets import Limits, read_sheets

SERVICE_HEADER = ["Mã cổng", "Ngày kiểm tra", "Hoàn thành trực tuyến", "Trả kết quả trực tuyến"]


def workbook(path: Path, rows: list[list], title: str = "Dịch vụ công") -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def rewrite_part(path: Path, part: str, edit) -> Path:
    """A copy of an XLSX with one part's bytes changed by `edit`."""
    with zipfile.ZipFile(path) as src:
        parts = {name: src.read(name) for name in src.namelist()}
    parts[part] = edit(parts[part])
    out = path.with_name("edited-" + path.name)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in parts.items():
            dst.writestr(name, data)
    return out


def rejected(call) -> list[str]:
    with pytest.raises(InputRejected) as e:
        call()
    return [str(p) for p in e.value.problems]


def good_sheet(tmp_path: Path) -> Path:
    return workbook(tmp_path / "s.xlsx", [SERVICE_HEADER, ["hanoi-service", "01/09/2026", "có", "không"]])


# --- XML and ZIP bombs, oversized sheets -----------------------------------------------------------


def test_xml_entity_declarations_are_refused(tmp_path):
    laughs = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
    path = rewrite_part(good_sheet(tmp_path), "xl/worksheets/sheet1.xml", lambda b: laughs + b)
    assert rejected(lambda: read_sheets(path)) == [
        "edited-s.xlsx: got 'xl/worksheets/sheet1.xml: an XML document type or entity declaration', "
        "expected XML without DOCTYPE or ENTITY declarations"
    ]


def test_a_sheet_declaring_the_whole_grid_is_refused_before_it_is_read(tmp_path):
    path = rewrite_part(
        good_sheet(tmp_path),
        "xl/worksheets/sheet1.xml",
        lambda b: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', b),
    )
    assert rejected(lambda: read_sheets(path)) == [
        "edited-s.xlsx, sheet 'Dịch vụ công': got 'the declared range A1:XFD1048576 (17,179,869,184 cells)', "
        "expected a sheet spanning at most 2,000,000 cells"
    ]


def test_two_cells_far_apart_are_refused_even_without_a_declared_range(tmp_path):
    wb = Workbook()
    wb.active["A1"] = 1
    wb.active["XFD1048576"] = 2
    wb.save(tmp_path / "far.xlsx")
    path = rewrite_part(
        tmp_path / "far.xlsx", "xl/worksheets/sheet1.xml", lambda b: re.sub(rb"<dimension[^>]*>", b"", b)
    )
    assert rejected(lambda: read_sheets(path)) == [
        "edited-far.xlsx, sheet 'Sheet': got 'cells far apart (17,179,869,184 cells)', "
        "expected a sheet spanning at most 2,000,000 cells"
    ]


def test_a_zip_bomb_is_refused_by_its_declared_size_without_inflating_it(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b" " * 150_000_000)  # 150 MB of spaces, ~150 KB compressed
    assert path.stat().st_size < 1_000_000
    assert rejected(lambda: read_sheets(path)) == [
        "bomb.xlsx: got 'xl/worksheets/sheet1.xml: 150,000,000 bytes decompressed', "
        "expected parts of at most 100,000,000 bytes"
    ]


def test_a_part_that_lies_about_its_size_is_cut_at_the_limit(tmp_path):
    path = good_sheet(tmp_path)
    limits = Limits(part_bytes=600)  # the sheet's real XML is larger than this
    problems = rejected(lambda: read_sheets(path, limits))
    assert "expected parts of at most 600 bytes" in problems[0]


def test_a_reader_that_runs_out_of_memory_is_a_rejection_not_a_crash(tmp_path):
    path = good_sheet(tmp_path)
    problems = rejected(
        lambda: read_sheets(path, Limits(memory_bytes=-290_000_000))
    )  # 10 MB: the child cannot even start
    assert problems[0].startswith("s.xlsx: got 'the reader stopped") and "bytes of memory" in problems[0]


def test_a_corrupt_workbook_is_a_rejection(tmp_path):
    (tmp_path / "bad.xlsx").write_bytes(b"PK\x03\x04 not a zip at all")
    assert "expected a readable .xlsx workbook" in rejected(lambda: read_sheets(tmp_path / "bad.xlsx"))[0]


def test_peak_memory_on_hostile_workbooks_stays_small(tmp_path):
    """The checks stream: a 150 MB bomb and a declared giant grid are refused in a child process
    whose peak memory stays far under the 1 GB bound."""
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"<a>" + b" " * 99_000_000 + b"</a>")  # under the declared limit
        z.writestr("xl/workbook.xml", b"<workbook/>")
    code = (
        "import sys\nfrom pathlib import Path\nfrom portal_index.parse.spreadsheets import read_sheets\n"
        "try:\n    read_sheets(Path(sys.argv[1]))\nexcept Exception as e:\n    print(type(e).__name__)\n"
        # the peak of this process since it started (VmHWM starts again at exec, unlike ru_maxrss)
        "print(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(bomb)], capture_output=True, text=True, timeout=120)
    kind, peak_kb = out.stdout.split()
    assert kind == "InputRejected" and int(peak_kb) < 300_000, out.stdout


# --- formulas, legacy formats, encodings, the checklist convention -------------------------------------


def test_a_formula_without_a_saved_value_names_its_cell(tmp_path):
    path = workbook(tmp_path / "f.xlsx", [SERVICE_HEADER, ["hanoi-service", "01/09/2026", '=IF(1,"có","không")', "có"]])
    assert rejected(lambda: read_sheets(path)) == [
        "f.xlsx, sheet 'Dịch vụ công', column 'C2': got 'a formula without a saved value', "
        "expected the formula's value: open and save the file in Excel or LibreOffice"
    ]


def test_a_legacy_xls_workbook_is_read(tmp_path):
    xlwt = pytest.importorskip("xlwt")
    book = xlwt.Workbook()
    sheet = book.add_sheet("Dịch vụ công")
    for r, row in enumerate([SERVICE_HEADER, ["hanoi-service", "01/09/2026", "có", "không"]]):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.save(str(tmp_path / "cu.xls"))
    [row] = surveys.parse(tmp_path / "cu.xls", landed_on=date(2026, 11, 1))["survey_responses"]
    assert (row["portal_id"], row["completed_online"], row["result_online"]) == ("hanoi-service", True, False)


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode("utf-8"),
        lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"),
        lambda text: text.replace(",", "\t").encode("utf-16"),  # Excel's "Unicode text": UTF-16 with BOM, tabs
        to_windows_1258,
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-tabs", "windows-1258"],
)
def test_survey_csv_in_every_accepted_encoding(tmp_path, encode):
    text = (
        "Loại kiểm tra,Tỉnh / Bộ,Loại cổng,Ngày kiểm tra,Mức hài lòng (1-5)\nhài lòng,Hà Nội,thông tin,01/09/2026,4\n"
    )
    (tmp_path / "hl.csv").write_bytes(encode(text))
    [row] = surveys.parse(tmp_path / "hl.csv", landed_on=date(2026, 11, 1))["survey_responses"]
    assert (row["portal_id"], row["satisfaction"]) == ("hanoi-info", 4)


def test_a_csv_in_another_encoding_is_a_rejection_naming_the_file(tmp_path):
    (tmp_path / "la.csv").write_bytes(b"Ma cong,Ngay\n\x81\x8d\x8f,01/09/2026\n")
    assert rejected(lambda: surveys.parse(tmp_path / "la.csv")) == [
        "la.csv: got \"byte b'\\\\x81' at 13\", "
        "expected text in UTF-8 (with or without BOM), UTF-16 with BOM, or windows-1258"
    ]


def test_a_tidy_papi_csv_in_windows_1258_loads(tmp_path):
    (tmp_path / "papi.csv").write_bytes(to_windows_1258("province,year,dimension,score\nHà Nội,2024,8,4.5\n"))
    [row] = papi.parse(tmp_path / "papi.csv", landed_on=date(2026, 11, 1))["papi_scores"]
    assert (row["province_code"], row["year"], row["score"]) == ("01", 2024, 4.5)


def test_a_checklist_marked_with_x_means_no_where_blank(tmp_path):
    path = workbook(
        tmp_path / "x.xlsx",
        [
            SERVICE_HEADER + ["Yêu cầu bản giấy gốc"],
            ["hanoi-service", "01/09/2026", "x", None, "có"],
            ["hanoi-service", "02/09/2026", None, "✓", None],
        ],
    )
    rows = surveys.parse(path, landed_on=date(2026, 11, 1))["survey_responses"]
    assert [(r["completed_online"], r["result_online"], r["original_papers_demanded"]) for r in rows] == [
        (True, False, True),  # marks only: blank = no
        (False, True, None),  # explicit có with a blank: the blank stays missing
    ]


def test_an_x_checklist_with_a_blank_required_answer_is_accepted_as_no(tmp_path):
    path = workbook(
        tmp_path / "x.xlsx",
        [SERVICE_HEADER, ["hanoi-service", "01/09/2026", None, "x"], ["hanoi-service", "02/09/2026", "x", "x"]],
    )
    rows = surveys.parse(path, landed_on=date(2026, 11, 1))["survey_responses"]
    assert [r["completed_online"] for r in rows] == [False, True]


# --- plausibility -----------------------------------------------------------------------------------


def test_survey_dates_in_the_future_or_before_the_decree_are_refused(tmp_path):
    path = workbook(
        tmp_path / "d.xlsx",
        [SERVICE_HEADER, ["hanoi-service", "01/03/2031", "có", "có"], ["hanoi-service", "01/03/1901", "có", "có"]],
    )
    expected = (
        "expected a test date from 15/08/2022 (Decree 42/2022/NĐ-CP in force) to 26/11/2026 (the day the file landed)"
    )
    assert rejected(lambda: surveys.parse(path, landed_on=date(2026, 11, 26))) == [
        f"d.xlsx, sheet 'Dịch vụ công', row 2, column 'Ngày kiểm tra (B)': got '01/03/2031', {expected}",
        f"d.xlsx, sheet 'Dịch vụ công', row 3, column 'Ngày kiểm tra (B)': got '01/03/1901', {expected}",
    ]


def test_a_portal_outside_its_validity_is_refused(tmp_path):
    path = workbook(tmp_path / "v.xlsx", [SERVICE_HEADER, ["bacgiang-service", "01/09/2026", "có", "có"]])
    [problem] = rejected(lambda: surveys.parse(path, landed_on=date(2026, 11, 26)))
    assert (
        "got 'bacgiang-service', expected a portal valid on 2026-09-01 (the registry has it from … to 2025-06-30)"
        in problem
    )


def test_a_papi_year_after_the_landing_year_is_refused(tmp_path):
    (tmp_path / "papi.csv").write_text("province,year,dimension,score\nHà Nội,2099,8,4.5\nHà Nội,2005,8,4\n")
    assert rejected(lambda: papi.parse(tmp_path / "papi.csv", landed_on=date(2026, 11, 26))) == [
        f"papi.csv, row {n}, column 'year': got {y}, expected a PAPI year from 2011 (its first nationwide survey) "
        "to 2026 (the year the file landed)"
        for n, y in ((2, 2099), (3, 2005))
    ]


def test_impossible_probes_are_refused_with_the_rule(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text(
        "portal_id,url,probed_at,status,dns_ms,connect_ms,tls_ms,ttfb_ms,total_ms,error\n"
        "hanoi-info,https://x/,2026-09-01T00:00:00Z,200,5,10,20,-3,100,\n"
        "hanoi-info,https://x/,2026-09-01T01:00:00Z,200,5,10,20,50,-1,\n"
        "hanoi-info,https://x/,2026-09-01T02:00:00Z,-200,5,10,20,50,60,\n"
        "hanoi-info,https://x/,2026-09-01T03:00:00Z,200,50,100,200,100,400,\n"
        "hanoi-info,https://x/,2026-09-01T04:00:00Z,,,,,,,\n"
        "atlantis-info,https://x/,2026-09-01T05:00:00Z,200,1,1,1,5,9,\n"
        "bacgiang-info,https://x/,2026-09-01T06:00:00Z,200,1,1,1,5,9,\n"
        "hanoi-info,https://x/,2031-01-01T00:00:00Z,200,1,1,1,5,9,\n"
    )
    assert rejected(lambda: parse_probes(path, landed_on=date(2026, 11, 26))) == [
        "p.csv, row 2, column 'ttfb_ms': got '-3.0', expected a time of 0 ms or more",
        "p.csv, row 2, column 'ttfb_ms': got '-3.0', expected at least the DNS, connect and TLS times that come "
        "before the first byte",
        "p.csv, row 3, column 'total_ms': got '-1.0', expected a time of 0 ms or more",
        "p.csv, row 3, column 'total_ms': got '-1.0', expected at least the time to first byte",
        "p.csv, row 4, column 'status': got '-200', expected an HTTP status from 100 to 599",
        "p.csv, row 5, column 'ttfb_ms': got '100.0', expected at least the DNS, connect and TLS times that come "
        "before the first byte",
        "p.csv, row 6, column 'status': got None, expected an HTTP status, or an error saying why there is none",
        "p.csv, row 7, column 'portal_id': got 'atlantis-info', expected a portal_id of the registry "
        "(first row of that portal and day)",
        "p.csv, row 8, column 'portal_id': got 'bacgiang-info', expected a portal valid on 2026-09-01 (the "
        "registry has it from … to 2025-06-30) (first row of that portal and day)",
        "p.csv, row 9, column 'probed_at': got '2031-01-01 00:00:00+00', expected a time no later than "
        "2026-11-26, the day the file landed",
    ]


def test_crawl_rows_from_another_crawler_must_belong_to_a_registry_portal(tmp_path):
    path = tmp_path / "other.jsonl"
    path.write_text(
        '{"record": "page", "crawl_id": "c1", "portal_id": "atlantis-info", "url": "http://a/", '
        '"fetched_at": "2026-09-01T00:00:00+00:00"}\n'
    )
    assert rejected(lambda: parse_crawl(path)) == [
        "other.jsonl, row 1, column 'portal_id': got 'atlantis-info', expected a portal_id of the registry"
    ]


# --- no escape, no stall -----------------------------------------------------------------------------


def test_a_parser_that_blows_up_rejects_its_file_and_the_next_file_and_run_still_load(tmp_path, monkeypatch):
    home = Home(tmp_path).ensure()
    (home.inbox("surveys") / "a-hong.xlsx").write_bytes(good_sheet(tmp_path).read_bytes())
    real = ingest.PARSERS["surveys"]

    def explode(path, landed_on):
        if path.name == "a-hong.xlsx":
            raise RuntimeError("a bug in a library")
        return real(path, landed_on)

    monkeypatch.setitem(ingest.PARSERS, "surveys", explode)
    workbook(home.inbox("surveys") / "b-tot.xlsx", [SERVICE_HEADER, ["hanoi-service", "02/09/2026", "có", "có"]])
    report = ingest_source(home, "surveys")
    assert [s.original_name for s, _ in report.accepted] == ["b-tot.xlsx"]
    [(snapshot, [problem])] = report.rejected
    assert snapshot.original_name == "a-hong.xlsx" and problem.value == "RuntimeError: a bug in a library"
    assert not any(home.inbox("surveys").iterdir())  # the inbox is empty: nothing stalls a later run
    workbook(home.inbox("surveys") / "c-sau.xlsx", [SERVICE_HEADER, ["hanoi-service", "03/09/2026", "có", "có"]])
    later = ingest_source(home, "surveys")  # the next run loads the new file; the failed one is not retried
    assert [s.original_name for s, _ in later.accepted] == ["c-sau.xlsx"] and not later.rejected
    monkeypatch.setitem(ingest.PARSERS, "surveys", real)  # the bug is fixed
    retried = ingest_source(home, "surveys", retry_rejected=True)
    assert [s.original_name for s, _ in retried.accepted] == ["a-hong.xlsx"]
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from raw.survey_responses").fetchall() == [(3,)]


def test_a_rejected_file_is_parsed_again_when_the_parsers_change(tmp_path, monkeypatch):
    from portal_index.land import warehouse

    home = Home(tmp_path).ensure()
    path = workbook(tmp_path / "v.xlsx", [SERVICE_HEADER, ["atlantis-service", "01/09/2026", "có", "có"]])
    _, report = ingest_file(home, path)
    assert report.rejected
    assert not ingest_source(home, "surveys").rejected  # same parsers, same registry: not parsed again
    monkeypatch.setattr(warehouse, "parser_fingerprint", lambda: "a-new-parser")
    assert ingest_source(home, "surveys").rejected  # parsed again (and still rejected)


def test_the_command_line_reports_a_rejected_file_and_strict_runs_fail(tmp_path):
    from conftest import cli

    (tmp_path / "bomb.xlsx").write_bytes(io.BytesIO().getvalue())
    result = cli("ingest", str(tmp_path / "bomb.xlsx"), home=tmp_path / "home")
    assert result.returncode == 1 and "REJECTED bomb.xlsx (surveys)" in result.stderr
    listing = cli("rejections", home=tmp_path / "home")
    assert "surveys/bomb.xlsx" in listing.stdout and "nanobind" not in listing.stderr + result.stderr


@pytest.mark.slow  # two command-line runs, one of them waiting
def test_a_second_command_on_a_busy_working_folder_says_who_holds_it_or_waits(tmp_path):
    import threading
    import time

    from conftest import cli

    from portal_index.core import run_lock

    home = tmp_path / "home"
    sheet = good_sheet(tmp_path)
    with run_lock.hold(home, "portal-index run"):
        busy = cli("ingest", str(sheet), home=home)
    assert busy.returncode == 75 and "is busy: `portal-index run` pid" in busy.stderr
    release = threading.Event()

    def holder():
        with run_lock.hold(home, "portal-index run"):
            release.wait(10)

    thread = threading.Thread(target=holder)
    thread.start()
    time.sleep(0.5)
    threading.Timer(1.0, release.set).start()
    waited = cli("ingest", str(sheet), "--wait", home=home)
    thread.join()
    assert waited.returncode == 0 and "waiting" in waited.stderr and "accepted s.xlsx" in waited.stdout


def test_a_probe_header_cannot_reach_into_the_query(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_TOKEN", "hunter2")
    inj = (
        "z': 'VARCHAR'}, store_rejects = true) , (select content as c from read_text('/proc/self/environ')) t "
        "where cast('LEAK:' || t.c as integer) > 0 --"
    )
    path = tmp_path / "inj.csv"
    path.write_text(f'portal_id,url,probed_at,"{inj}"\nhanoi-info,https://x/,2026-03-01T00:00:00Z,1\n')
    problems = rejected(lambda: parse_probes(path, landed_on=date(2026, 11, 26)))
    assert problems[0].startswith("inj.csv, row 1: got \"z': 'VARCHAR'}") and "letters, digits and _" in problems[0]
    assert not any("hunter2" in p for p in problems)


def test_values_no_column_can_hold_are_a_recorded_rejection_and_do_not_block_the_next_run(tmp_path):
    home = Home(tmp_path).ensure()
    (home.inbox("crawl") / "big.jsonl").write_text(
        '{"record": "page", "crawl_id": "c1", "portal_id": "hanoi-info", "url": "http://a/", '
        '"fetched_at": "2026-09-01T00:00:00+00:00", "bytes": 999999999999999999999999}\n'
    )
    workbook(
        home.inbox("surveys") / "steps.xlsx",
        [["Mã cổng", "Ngày kiểm tra", "Hoàn thành trực tuyến", "Số bước"], ["hanoi-service", "01/09/2026", "có", 1e30]],
    )
    crawl = ingest_source(home, "crawl")
    assert not crawl.accepted and "values that fit the crawl column types" in str(crawl.rejected[0][1][0])
    [(_, [problem])] = ingest_source(home, "surveys").rejected
    assert (problem.row, problem.expected) == (2, "a whole number, 0 or more")
    (home.inbox("surveys") / "tot.xlsx").write_bytes(good_sheet(tmp_path).read_bytes())
    assert [s.original_name for s, _ in ingest_source(home, "surveys").accepted] == ["tot.xlsx"]


def test_links_and_special_files_in_the_inbox_are_not_read(tmp_path):
    import os

    home = Home(tmp_path / "home").ensure()
    secret = tmp_path / "secret.csv"
    secret.write_text("not for the warehouse\n")
    (home.inbox("surveys") / "link.csv").symlink_to(secret)
    os.mkfifo(home.inbox("surveys") / "pipe.csv")
    report = ingest_source(home, "surveys")
    assert not report.accepted and not report.rejected
    assert [line.split(":")[0] for line in report.skipped] == ["surveys/'link.csv'", "surveys/'pipe.csv'"]
    assert not list(home.snapshots.glob("surveys/*/link.csv"))  # nothing of the target was copied


def test_probe_timings_that_are_not_numbers_are_refused(tmp_path):
    path = tmp_path / "nan.csv"
    path.write_text(
        "portal_id,url,probed_at,status,ttfb_ms,total_ms\nhanoi-info,https://x/,2026-09-01T00:00:00Z,200,nan,inf\n"
    )
    problems = rejected(lambda: parse_probes(path, landed_on=date(2026, 11, 26)))
    assert problems[:2] == [
        "nan.csv, row 2, column 'ttfb_ms': got 'nan', expected a finite number",
        "nan.csv, row 2, column 'total_ms': got 'inf', expected a finite number",
    ]


def test_another_tools_warc_is_read_in_a_confined_child(tmp_path):
    """A WARC header line that inflates to hundreds of megabytes (warcio reads header lines whole):
    in the confined child it ends as a rejection within the memory limit, and this process is spared."""
    import zlib

    from portal_index.parse.confined import ChildLimits, confined

    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    data = c.compress(b"WARC/1.0\r\nWARC-Type: response\r\nX-Long: ")
    for _ in range(300):
        data += c.compress(b"a" * 1_000_000)
    data += c.compress(b"\r\nContent-Length: 0\r\n\r\n\r\n\r\n") + c.flush()
    path = tmp_path / "long-header.warc.gz"
    path.write_bytes(data)
    assert path.stat().st_size < 1_000_000
    limits = ChildLimits(memory_bytes=150_000_000, seconds=60)
    [problem] = rejected(lambda: confined("portal_index.parse.fetch_results:parse_crawl", path, limits))
    assert problem.startswith("long-header.warc.gz: got 'the reader stopped: it ran out of memory")


def test_crawl_files_from_other_tools_go_to_the_child_and_ours_do_not(tmp_path):
    from portal_index.land.ingest import is_ours
    from portal_index.land.snapshots import land

    home = Home(tmp_path).ensure()
    (tmp_path / "a.jsonl").write_text("")
    ours, _ = land(home.snapshots, "crawl", tmp_path / "a.jsonl", origin="portal-index 0.1.0 crawl (demo) run x")
    (tmp_path / "b.jsonl").write_text("\n")
    theirs, _ = land(home.snapshots, "crawl", tmp_path / "b.jsonl", origin="inbox/crawl/b.jsonl")
    assert is_ours(ours.path) and not is_ours(theirs.path)
