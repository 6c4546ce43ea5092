"""Crawl and audit JSON Lines with no problem go straight from the file into the warehouse, many
files at a time; the rows are those `parse_records` gives, and a file with a problem is still named
problem by problem by the parser."""

import json
from datetime import date

import duckdb

from portal_index.config import Home
from portal_index.land.ingest import PARSERS, ingest_source, land_inbox
from portal_index.land.snapshots import list_snapshots
from portal_index.land.warehouse import LoadReport, connect, load_snapshot
from portal_index.parse import fetch_results

PAGE = {
    "record": "page",
    "crawl_id": "c1",
    "portal_id": "hanoi-info",
    "url": "https://x/",
    "final_url": "https://x/",
    "fetched_at": "2026-09-01T03:00:00+07:00",
    "status": 200,
    "content_type": "text/html",
    "bytes": 1200,
    "elapsed_ms": 40.5,
    "depth": 0,
    "role": "page",
    "attempts": 1,
    "redirects": 0,
    "unknown_extra": "kept out",
}
SIGNAL = {
    "record": "signal",
    "crawl_id": "c1",
    "portal_id": "hanoi-info",
    "crawled_at": "2026-09-01 00:00:00Z",
    "signal_id": "art4.financial_statements",
    "value": 1.0,
    "evidence_url": "https://x/",
    "evidence_text": "báo cáo tài chính",
    "keywords_version": "v1",
}
AUDIT = {"record": "audit", "portal_id": "hanoi-info", "url": "https://x/", "audited_at": "2026-09-01T01:00:00Z"}


def _lines(*objects) -> str:
    return "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects)


def _plain_crawl(path, landed_on):  # the parser alone: no fast path
    return fetch_results.parse_crawl(path)


def test_the_direct_load_keeps_the_rows_the_parser_gives(tmp_path):
    text = _lines(PAGE, {**PAGE, "url": "https://x/a", "status": None}, SIGNAL, {**SIGNAL, "value": None}) + "\n"
    rows = {}
    for name, parser in (("plain", _plain_crawl), ("direct", PARSERS["crawl"])):
        home = Home(tmp_path / name).ensure()
        (home.inbox("crawl") / "c.jsonl").write_text(text, encoding="utf-8")
        land_inbox(home, "crawl")
        report = LoadReport("crawl")
        with connect(home.warehouse) as con:
            con.execute("set TimeZone = 'Asia/Ho_Chi_Minh'")
            for snapshot in list_snapshots(home.snapshots, "crawl"):
                load_snapshot(con, snapshot, parser, report)
            assert con.execute("select current_setting('TimeZone')").fetchall() == [("Asia/Ho_Chi_Minh",)]
            con.execute("set TimeZone = 'UTC'")
            rows[name] = [
                con.execute(f"select * exclude (snapshot_landed_at) from raw.{t} order by all").fetchall()
                for t in ("crawl_pages", "crawl_signals")
            ]
            assert con.execute("select status, rows from meta.snapshot_loads").fetchall() == [("accepted", 4)]
        assert report.rows == 4 and not report.rejected
    assert rows["plain"] == rows["direct"] and [len(r) for r in rows["direct"]] == [2, 2]


def test_many_files_read_at_once_keep_only_the_files_without_a_problem(tmp_path):
    home = Home(tmp_path).ensure()
    landed = "2026-09-03T00:00:00+00:00"
    texts = {
        "good1": _lines(PAGE, SIGNAL),
        "good2": _lines({**PAGE, "crawl_id": "c2"}),
        "empty": "",
        "kind": _lines(PAGE, {**SIGNAL, "record": "sitemap"}),
        "missing": _lines(PAGE, {**SIGNAL, "signal_id": ""}),
        "naive_time": _lines({**PAGE, "fetched_at": "2026-09-01 03:00:00"}),
        "not_a_time": _lines({**PAGE, "fetched_at": "yesterday"}),
        "unknown_portal": _lines({**PAGE, "portal_id": "atlantis-info"}),
        "not_json": _lines(PAGE) + "{not json\n",
    }
    files = []
    for name, text in texts.items():
        path = tmp_path / f"{name}.jsonl"
        path.write_text(text, encoding="utf-8")
        files.append((path, date(2026, 9, 3), name.ljust(64, "0"), landed))
    warc = tmp_path / "x.warc.gz"
    warc.write_bytes(b"")
    files.append((warc, date(2026, 9, 3), "w" * 64, landed))
    with connect(home.warehouse) as con:
        loaded = {}
        for one in files:  # a file that fails the read (not JSON) fails its group: alone, it is its own
            con.execute("begin")
            try:
                loaded.update(fetch_results.load_records_into(con, [one], fetch_results.CRAWL_RECORDS))
            except duckdb.Error:
                pass
            con.execute("rollback")
        con.execute("begin")
        together = fetch_results.load_records_into(
            con, [f for f in files if "not_json" not in str(f[0])], fetch_results.CRAWL_RECORDS
        )
        counts = con.execute(
            "select snapshot_sha256, count(*) from (select snapshot_sha256 from raw.crawl_pages "
            "union all select snapshot_sha256 from raw.crawl_signals) group by all"
        ).fetchall()
        con.execute("rollback")
    expected = {"good1": 2, "good2": 1, "empty": 0}
    assert {sha.rstrip("0"): n for sha, n in loaded.items()} == expected
    assert {sha.rstrip("0"): n for sha, n in together.items()} == expected
    assert dict(counts) == {sha: n for sha, n in together.items() if n}


def test_bad_crawl_and_audit_files_among_good_ones_are_named_and_the_good_ones_load(tmp_path):
    home = Home(tmp_path).ensure()
    for n in range(1, 6):
        page = {**PAGE, "crawl_id": f"c{n}"}
        text = _lines(page, {**SIGNAL, "crawl_id": f"c{n}"})
        if n == 3:
            text += _lines({**page, "status": "two hundred"})  # a type its column cannot hold: the read fails
        if n == 4:
            text += _lines({**page, "portal_id": "atlantis-info"})
        (home.inbox("crawl") / f"crawl{n}.jsonl").write_text(text, encoding="utf-8")
    (home.inbox("audits") / "a1.jsonl").write_text(_lines(AUDIT), encoding="utf-8")
    (home.inbox("audits") / "a2.jsonl").write_text(_lines({**AUDIT, "audited_at": "2026-09-01"}), encoding="utf-8")
    crawl = ingest_source(home, "crawl")
    audits = ingest_source(home, "audits")
    assert sorted(s.original_name for s, _ in crawl.rejected) == ["crawl3.jsonl", "crawl4.jsonl"]
    [(_, problems)] = [r for r in crawl.rejected if r[0].original_name == "crawl4.jsonl"]
    assert [(p.row, p.column, p.value) for p in problems] == [(3, "portal_id", "atlantis-info")]
    assert crawl.rows == 6 and audits.rows == 2 and not audits.rejected  # a date alone is a time the parser reads
    with duckdb.connect(str(home.warehouse)) as con:
        assert con.execute("select count(*) from raw.crawl_pages").fetchall() == [(3,)]
        assert con.execute("select count(*) from raw.a11y_audits").fetchall() == [(2,)]


def test_only_our_own_json_lines_take_the_fast_path_another_tools_go_to_the_strict_parser(tmp_path):
    """DuckDB's JSON reader takes a trailing comma that `json.loads` refuses: another tool's file
    (from the inbox) must meet the parser; a file our fetchers landed takes the fast path."""
    from portal_index.land.snapshots import land

    home = Home(tmp_path).ensure()
    lenient = _lines(PAGE).replace('"kept out"}', '"kept out",}')
    assert '",}' in lenient
    ours, theirs = tmp_path / "ours.jsonl", tmp_path / "theirs.jsonl"
    ours.write_text(_lines(PAGE, SIGNAL), encoding="utf-8")
    theirs.write_text(_lines({**PAGE, "crawl_id": "c2"}, {**SIGNAL, "crawl_id": "c2"}), encoding="utf-8")
    landed = [
        land(home.snapshots, "crawl", ours, origin="portal-index 1.0 crawl (test)")[0],
        land(home.snapshots, "crawl", theirs, origin="inbox/crawl/theirs.jsonl")[0],
    ]
    files = [(s.path, date(2026, 9, 3), s.sha256, s.landed_at) for s in landed]
    with connect(home.warehouse) as con:
        con.execute("begin")
        assert PARSERS["crawl"].load_into(con, files) == {landed[0].sha256: 2}
        con.execute("rollback")
    (home.inbox("crawl") / "lenient.jsonl").write_text(lenient, encoding="utf-8")
    report = ingest_source(home, "crawl")
    assert [s.original_name for s, _ in report.rejected] == ["lenient.jsonl"]
    assert sorted(s.original_name for s, _ in report.accepted) == ["ours.jsonl", "theirs.jsonl"]


def test_times_duckdb_reads_but_python_does_not_are_not_loaded_directly(tmp_path):
    home = Home(tmp_path).ensure()
    odd = ["2026-09-01T03:00:00+99:00", "2026-09-01T03:00:00+24:00", "2026-09-01T24:00:00Z", "0000-01-01T00:00:00Z"]
    files = []
    for n, moment in enumerate(odd):
        path = tmp_path / f"odd{n}.jsonl"
        path.write_text(_lines({**PAGE, "fetched_at": moment}), encoding="utf-8")
        files.append((path, date(2026, 9, 3), str(n) * 64, "2026-09-03T00:00:00+00:00"))
    good = tmp_path / "good.jsonl"
    good.write_text(_lines({**PAGE, "fetched_at": "2026-09-01T03:00:00.123456+07:00"}), encoding="utf-8")
    files.append((good, date(2026, 9, 3), "g" * 64, "2026-09-03T00:00:00+00:00"))
    with connect(home.warehouse) as con:
        con.execute("begin")
        assert fetch_results.load_records_into(con, files, fetch_results.CRAWL_RECORDS) == {"g" * 64: 1}
        con.execute("rollback")


def test_a_number_that_is_no_measurement_rejects_its_file_by_either_path(tmp_path):
    """nan, inf and numbers beyond MAX_MAGNITUDE are read by json and by DuckDB alike, and the scoring
    models add values exactly as DECIMAL(38, 12), which cannot hold them (docs/inputs.md)."""
    for name in ("plain", "direct"):
        home = Home(tmp_path / name).ensure()
        (home.inbox("crawl") / "good.jsonl").write_text(_lines(PAGE, SIGNAL), encoding="utf-8")
        for n, value in enumerate(("NaN", "Infinity", "-Infinity", "1e300", "2000000000")):
            line = json.dumps({**SIGNAL, "crawl_id": f"c{n}"}).replace('"value": 1.0', f'"value": {value}')
            (home.inbox("crawl") / f"bad{n}.jsonl").write_text(_lines(PAGE) + line + "\n", encoding="utf-8")
        if name == "direct":  # many files read by DuckDB at once, as the loader asset does
            report = ingest_source(home, "crawl")
        else:
            land_inbox(home, "crawl")
            report = LoadReport("crawl")
            with connect(home.warehouse) as con:
                for snapshot in list_snapshots(home.snapshots, "crawl"):
                    load_snapshot(con, snapshot, _plain_crawl, report)
        rejected = {s.original_name: problems for s, problems in report.rejected}
        assert sorted(rejected) == [f"bad{n}.jsonl" for n in range(5)], name
        for problems in rejected.values():
            assert [(p.row, p.column, p.expected) for p in problems] == [(2, "value", fetch_results.NUMBER_EXPECTED)], (
                name
            )
        with duckdb.connect(str(home.warehouse)) as con:
            assert con.execute("select count(*) from raw.crawl_signals").fetchall() == [(1,)], name
