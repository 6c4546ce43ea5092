"""A probe file with no problem goes straight from the file into the warehouse; the rows are those
`parse_probes` gives, and a file with a problem is still named problem by problem."""

from datetime import date

import duckdb
import pytest

from portal_index.config import Home
from portal_index.land.ingest import PARSERS, ingest_source
from portal_index.land.snapshots import list_snapshots
from portal_index.land.warehouse import LoadReport, connect, load_snapshot
from portal_index.parse import fetch_results

GOOD = (
    "portal_id,url,probed_at,status,dns_ms,connect_ms,tls_ms,ttfb_ms,total_ms,bytes,http_version,"
    "redirects_to_https,error,retry_of,unknown_extra\n"
    "hanoi-info,https://x/,2026-09-01T00:00:00Z,200,1.5,2,3.25,40.125,90,1200,HTTP/2,true,,,x\n"
    "hanoi-info,https://x/,2026-09-01 01:00:00,,,,,,,,,,timeout,2026-09-01T00:59:00+07:00,y\n"
    "hanoi-info,https://x/a,2026-09-01T02:00:00+07:00,301,0,0,0,5,5,0,HTTP/1.1,false,,,\n"
)


def _plain(path, landed_on):  # the parser alone: no fast path
    return fetch_results.parse_probes(path, landed_on=landed_on)


def test_the_direct_load_keeps_the_rows_the_parser_gives(tmp_path):
    rows = {}
    for name, parser in (("plain", _plain), ("direct", PARSERS["probes"])):
        home = Home(tmp_path / name).ensure()
        (home.inbox("probes") / "p.csv").write_text(GOOD, encoding="utf-8")
        from portal_index.land.ingest import land_inbox

        land_inbox(home, "probes")
        report = LoadReport("probes")
        with connect(home.warehouse) as con:
            con.execute("set TimeZone = 'Asia/Ho_Chi_Minh'")  # the loader's own setting comes back unchanged
            for snapshot in list_snapshots(home.snapshots, "probes"):
                load_snapshot(con, snapshot, parser, report)
            assert con.execute("select current_setting('TimeZone')").fetchall() == [("Asia/Ho_Chi_Minh",)]
            con.execute("set TimeZone = 'UTC'")
            rows[name] = con.execute("select * exclude (snapshot_landed_at) from raw.probes order by all").fetchall()
            assert con.execute("select status, rows from meta.snapshot_loads").fetchall() == [("accepted", 3)]
        assert report.rows == 3 and not report.rejected
    assert rows["plain"] == rows["direct"] and len(rows["direct"]) == 3


def _bad_among_good(home: Home, bad_line: str) -> list:
    """Loads a file of GOOD's rows and `bad_line` beside a good file: only the good file's rows load,
    and the bad file's problems are returned."""
    (home.inbox("probes") / "bad.csv").write_text(GOOD + bad_line, encoding="utf-8")
    (home.inbox("probes") / "good.csv").write_text(GOOD.replace("2026-09-01", "2026-09-02"), encoding="utf-8")
    report = ingest_source(home, "probes")
    assert report.rows == 3 and [s.original_name for s, _ in report.rejected] == ["bad.csv"]
    [(_, problems)] = report.rejected
    return problems


def test_a_file_with_a_problem_is_rolled_back_and_named_by_the_parser(tmp_path):
    home = Home(tmp_path).ensure()
    problems = _bad_among_good(home, "hanoi-info,https://x/,2026-09-01T03:00:00Z,200,1,1,1,-5,9,10,HTTP/2,true,,,\n")
    assert {(p.row, p.column, p.value) for p in problems} == {(5, "ttfb_ms", "-5.0")}  # two rules, one cell
    with duckdb.connect(str(home.warehouse)) as con:
        assert con.execute("select count(*) from raw.probes").fetchall() == [(3,)]  # the bad file left nothing
        assert not con.execute(
            "select table_name from duckdb_tables() where temporary and table_name like 'probe%'"
        ).fetchall()


def test_a_time_beyond_an_hour_is_no_measurement_and_rejects_its_file(tmp_path):
    problems = _bad_among_good(
        Home(tmp_path).ensure(), "hanoi-info,https://x/,2026-09-01T03:00:00Z,200,1,1,1,5,2e13,10,HTTP/2,true,,,\n"
    )
    assert [(p.row, p.column, p.expected) for p in problems] == [
        (5, "total_ms", "a time of at most an hour (3,600,000 ms)")
    ]


@pytest.mark.parametrize("when", ["-infinity", "0001-01-01T00:00:00Z", "2022-08-14T16:59:59Z"])
def test_a_probe_before_the_decree_has_no_period_and_rejects_its_file(tmp_path, when):
    """-infinity, year 1 or the last second before Decree 42/2022 took effect (Vietnam time): no
    assessment measures then, and -infinity would have no period for the incremental models."""
    problems = _bad_among_good(
        Home(tmp_path).ensure(), f"hanoi-info,https://x/,{when},200,1,1,1,5,9,10,HTTP/2,true,,,\n"
    )
    assert [(p.row, p.column, p.expected) for p in problems] == [
        (5, "probed_at", "a time on or after 2022-08-15, Vietnam time (Decree 42/2022/NĐ-CP in force)")
    ]


def test_a_probe_in_the_future_or_of_an_unknown_portal_is_not_loaded_directly(tmp_path):
    home = Home(tmp_path).ensure()
    landed = "2026-09-01T00:00:00+00:00"
    with connect(home.warehouse) as con:
        path = tmp_path / "p.csv"
        path.write_text(GOOD, encoding="utf-8")
        con.execute("begin")
        assert fetch_results.load_probes_into(con, [(path, date(2026, 8, 31), "a" * 64, landed)]) == {}
        con.execute("rollback")
        path.write_text(GOOD.replace("hanoi-info", "atlantis-info"), encoding="utf-8")
        con.execute("begin")
        assert fetch_results.load_probes_into(con, [(path, date(2026, 9, 2), "a" * 64, landed)]) == {}
        con.execute("rollback")
        path.write_text(GOOD, encoding="utf-8")
        con.execute("begin")
        assert fetch_results.load_probes_into(con, [(path, date(2026, 9, 2), "a" * 64, landed)]) == {"a" * 64: 3}
        con.execute("rollback")


def test_a_file_whose_portal_leaves_the_registry_between_its_first_and_last_probe_is_not_loaded_directly(tmp_path):
    """The registry is checked on a portal's first and last day in a file: bacgiang-service ended on
    30 June 2025 (the merger), so a file of 29 and 30 June loads, and one of 30 June and 1 July does
    not, whichever day comes first in the file."""
    home = Home(tmp_path).ensure()
    header = GOOD.splitlines(keepends=True)[0]

    def file_of(*days: str) -> str:
        return header + "".join(
            f"bacgiang-service,https://x/,{d}T01:00:00Z,200,1,1,1,5,9,10,HTTP/2,true,,,\n" for d in days
        )

    cases = {
        "before": ("2025-06-29", "2025-06-30"),
        "across": ("2025-06-30", "2025-07-01"),
        "back": ("2025-07-01", "2025-06-30"),
    }
    files = []
    for name, days in cases.items():
        path = tmp_path / f"{name}.csv"
        path.write_text(file_of(*days), encoding="utf-8")
        files.append((path, date(2025, 7, 2), name.ljust(64, "0"), "2025-07-02T00:00:00+00:00"))
    with connect(home.warehouse) as con:
        con.execute("begin")
        loaded = fetch_results.load_probes_into(con, files)
        con.execute("rollback")
    assert {sha.rstrip("0"): rows for sha, rows in loaded.items()} == {"before": 2}


def test_many_files_read_at_once_keep_only_the_files_without_a_problem(tmp_path):
    """Each check is per file when many files are read by one statement: a file in the future, one
    of an unknown portal, one with a missing value, one repeating a probe, one with a value of the
    wrong type and one with another header sit beside good ones; only the good ones go in."""
    home = Home(tmp_path).ensure()
    landed = "2026-09-03T00:00:00+00:00"
    later = GOOD.replace("2026-09-01", "2026-09-02")
    lines = GOOD.splitlines(keepends=True)
    texts = {
        "good1": GOOD,
        "good2": later,
        "empty": lines[0],
        "future": GOOD.replace("2026-09-01", "2026-09-05"),
        "unknown": GOOD.replace("hanoi-info", "atlantis-info"),
        "blank": GOOD + ",https://x/,2026-09-01T05:00:00Z,200,1,1,1,5,9,10,HTTP/2,true,,,\n",
        "repeat": GOOD + lines[1],
        "type": GOOD + "hanoi-info,https://x/,2026-09-01T06:00:00Z,two hundred,1,1,1,5,9,10,HTTP/2,true,,,\n",
        "other_header": "portal_id,url,probed_at,status\nhanoi-info,https://x/,2026-09-01T07:00:00Z,200\n",
    }
    files = []
    for name, text in texts.items():
        path = tmp_path / f"{name}.csv"
        path.write_text(text, encoding="utf-8")
        files.append((path, date(2026, 9, 3), name.ljust(64, "0"), landed))
    with connect(home.warehouse) as con:
        con.execute("begin")
        loaded = fetch_results.load_probes_into(con, files)
        by_file = dict(con.execute("select snapshot_sha256, count(*) from raw.probes group by all").fetchall())
        con.execute("rollback")
    assert {sha.rstrip("0"): rows for sha, rows in loaded.items()} == {
        "good1": 3,
        "good2": 3,
        "empty": 0,
        "other_header": 1,
    }
    assert by_file == {sha: rows for sha, rows in loaded.items() if rows}


def test_a_load_checks_and_removes_only_its_own_rows_beside_rows_loaded_before(tmp_path):
    """The rows a load adds are checked where they land, in `raw.probes`: a file with a problem
    loses its rows, while rows committed before (the same probes among them, from another day's
    snapshot) and rows of an earlier header's group in the same transaction stay; a second file of
    the same bytes is left to the parser."""
    home = Home(tmp_path).ensure()
    landed = "2026-09-03T00:00:00+00:00"

    def files(**texts):
        out = []
        for name, text in texts.items():
            path = tmp_path / f"{name}.csv"
            path.write_text(text, encoding="utf-8")
            out.append((path, date(2026, 9, 3), name.split("_")[0].ljust(64, "0"), landed))
        return out

    lines = GOOD.splitlines(keepends=True)
    with connect(home.warehouse) as con:
        con.execute("begin")
        assert fetch_results.load_probes_into(con, files(old=GOOD)) == {"old".ljust(64, "0"): 3}
        con.execute("commit")
        con.execute("begin")
        loaded = fetch_results.load_probes_into(
            con,
            files(
                short="portal_id,url,probed_at,status\nhanoi-info,https://x/,2026-09-01T07:00:00Z,200\n",
                good=GOOD,
                repeat=GOOD + lines[1],
                good_again=GOOD,
            ),
        )
        by_file = dict(con.execute("select snapshot_sha256, count(*) from raw.probes group by all").fetchall())
        con.execute("commit")
    assert {sha.rstrip("0"): rows for sha, rows in loaded.items()} == {"short": 1, "good": 3}
    assert {sha.rstrip("0"): rows for sha, rows in by_file.items()} == {"old": 3, "short": 1, "good": 3}


def test_one_bad_file_among_many_in_the_inbox_is_named_and_the_others_load(tmp_path):
    home = Home(tmp_path).ensure()
    for day in range(1, 9):
        text = GOOD.replace("2026-09-01", f"2026-09-0{day}")
        if day == 4:
            text += "hanoi-info,https://x/,2026-09-04T03:00:00Z,200,1,1,1,-5,9,10,HTTP/2,true,,,\n"
        (home.inbox("probes") / f"day{day}.csv").write_text(text, encoding="utf-8")
    report = ingest_source(home, "probes")
    assert [s.original_name for s, _ in report.rejected] == ["day4.csv"]
    assert sorted(s.original_name for s, _ in report.accepted) == [f"day{d}.csv" for d in range(1, 9) if d != 4]
    with duckdb.connect(str(home.warehouse)) as con:
        assert con.execute("select count(*) from raw.probes").fetchall() == [(21,)]
        assert con.execute("select count(*) from meta.snapshot_loads where status = 'accepted'").fetchall() == [(7,)]


def test_a_fast_load_that_fails_mid_transaction_leaves_the_time_zone_and_no_rows(tmp_path):
    from types import SimpleNamespace

    from portal_index.land.warehouse import _load_direct

    def failing(con, files):
        con.execute("set TimeZone = 'UTC'")
        con.execute("insert into raw.probes (snapshot_sha256, portal_id, url) values ('s', 'p', 'u')")
        con.execute("select cast('not a number' as integer)")  # fails inside the transaction

    snapshot = SimpleNamespace(landed_at="2026-11-27T09:00:00+00:00", sha256="s", path=tmp_path / "x.csv")
    with connect(tmp_path / "w.duckdb") as con:
        con.execute("set TimeZone = 'Asia/Ho_Chi_Minh'")
        assert _load_direct(con, [snapshot], failing) == {}
        assert con.execute("select current_setting('TimeZone')").fetchall()[0][0] == "Asia/Ho_Chi_Minh"
        assert con.execute("select count(*) from raw.probes").fetchall()[0][0] == 0
