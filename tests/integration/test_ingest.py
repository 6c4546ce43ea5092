"""Landing and loading: a bad file is kept and reported, good files still load, repeats are no-ops."""

import json
from datetime import UTC

import duckdb

from portal_index.config import Home
from portal_index.land.ingest import ingest_source


def test_one_bad_file_does_not_stop_good_ones_and_loses_nothing(tmp_path):
    home = Home(tmp_path).ensure()
    good = home.inbox("papi") / "good.csv"
    bad = home.inbox("papi") / "bad.csv"
    good.write_text("province,year,dimension,score\nHà Nội,2024,8,4.2\n", encoding="utf-8")
    bad.write_text("province,year,dimension,score\nAtlantis,2024,8,4.2\n", encoding="utf-8")
    bad_bytes = bad.read_bytes()

    report = ingest_source(home, "papi")
    assert report.rows == 1 and [s.original_name for s, _ in report.rejected] == ["bad.csv"]
    assert not any(home.inbox("papi").iterdir())  # landed files leave the inbox
    rejected_snapshot = report.rejected[0][0]
    assert rejected_snapshot.path.read_bytes() == bad_bytes  # kept as it arrived
    with duckdb.connect(str(home.warehouse)) as con:
        loads = dict(con.execute("select original_name, status from meta.snapshot_loads").fetchall())
        problems = json.loads(
            con.execute("select problems from meta.snapshot_loads where status = 'rejected'").fetchone()[0]
        )
        assert loads == {"good.csv": "accepted", "bad.csv": "rejected"}
        assert problems[0]["row"] == 2 and problems[0]["column"] == "province"
        assert con.execute("select province_code, score from raw.papi_scores").fetchall() == [("01", 4.2)]

    (home.inbox("papi") / "again.csv").write_text(
        "province,year,dimension,score\nHà Nội,2024,8,4.2\n", encoding="utf-8"
    )
    again = ingest_source(home, "papi")
    assert again.rows == 0 and not again.accepted and not again.rejected  # same sha256: nothing to do


def test_values_that_do_not_fit_the_raw_types_reject_the_file(tmp_path):
    home = Home(tmp_path).ensure()
    (home.inbox("probes") / "p.csv").write_text(
        "portal_id,url,probed_at,status\nhanoi-info,http://x/,2026-09-01T00:00:00Z,abc\n"
    )
    report = ingest_source(home, "probes")
    assert report.rows == 0 and len(report.rejected) == 1
    assert "abc" in str(report.rejected[0][1][0])


def test_a_probe_file_names_every_bad_cell_and_every_repeated_probe(tmp_path):
    home = Home(tmp_path).ensure()
    (home.inbox("probes") / "bad.csv").write_text(
        "portal_id,url,probed_at,status,ttfb_ms\n"
        "hanoi-info,http://x/,2026-09-01T00:00:00Z,200,12.5\n"
        ",http://x/,2026-09-01T01:00:00Z,abc,12.5\n"
        "hanoi-info,http://x/,yesterday,200,1\n"
    )
    (home.inbox("probes") / "repeats.csv").write_text(
        "portal_id,url,probed_at,status\n"
        "hanoi-info,http://x/,2026-09-01T00:00:00Z,200\n"
        "hanoi-info,http://x/,2026-09-01T01:00:00Z,200\n"
        "hanoi-info,http://x/,2026-09-01T00:00:00Z,503\n"
        "hanoi-info,http://x/,2026-09-01 08:00:00+07:00,200\n"  # 01:00 UTC, written otherwise
    )
    (home.inbox("probes") / "good.csv").write_text(
        "portal_id,url,probed_at,status,redirects_to_https,retry_of\n"
        "hanoi-info,http://x/,2026-09-01 00:00:00,200,true,\n"
        "hanoi-info,http://x/,2026-09-01T00:00:02+07:00,,false,2026-09-01T00:00:00+07:00\n"
    )
    report = ingest_source(home, "probes")
    assert report.rows == 2 and [s.original_name for s, _ in report.accepted] == ["good.csv"]
    problems = {s.original_name: [str(p) for p in ps] for s, ps in report.rejected}
    assert problems["bad.csv"] == [
        "bad.csv, row 3, column 'status': got 'abc', expected a value of type INTEGER",
        "bad.csv, row 3, column 'portal_id': got None, expected a value",
        "bad.csv, row 4, column 'probed_at': got 'yesterday', expected a value of type TIMESTAMPTZ",
    ]
    assert problems["repeats.csv"] == [
        "repeats.csv, row 4, column 'probed_at': got '2026-09-01T00:00:00Z', "
        "expected one row per portal, URL and time (this probe repeats row 2)",
        "repeats.csv, row 5, column 'probed_at': got '2026-09-01 08:00:00+07:00', "
        "expected one row per portal, URL and time (this probe repeats row 3)",
    ]
    from datetime import datetime, timedelta, timezone

    utc, ict = UTC, timezone(timedelta(hours=7))
    with duckdb.connect(str(home.warehouse)) as con:  # a time without an offset is UTC
        assert con.execute(
            "select epoch(probed_at)::bigint, status, redirects_to_https, epoch(retry_of)::bigint "
            "from raw.probes order by probed_at"
        ).fetchall() == [
            (
                int(datetime(2026, 9, 1, 0, 0, 2, tzinfo=ict).timestamp()),
                None,
                False,
                int(datetime(2026, 9, 1, tzinfo=ict).timestamp()),
            ),
            (int(datetime(2026, 9, 1, tzinfo=utc).timestamp()), 200, True, None),
        ]


def test_rows_with_different_fields_all_keep_their_values(tmp_path):
    """Sheets of one workbook fill different columns; none may be lost on loading."""
    from portal_index.parse.surveys import write_template

    home = Home(tmp_path).ensure()
    write_template(
        home.inbox("surveys") / "s.xlsx",
        {
            "service": [{"portal_id": "hanoi-service", "test_date": "01/09/2026", "completed_online": "có"}],
            "satisfaction": [{"portal_id": "hanoi-info", "test_date": "01/09/2026", "satisfaction": 4}],
            "ethnic_minority": [
                {"portal_id": "hanoi-info", "test_date": "01/09/2026", "ethnic_language_content": "không"}
            ],
        },
    )
    assert ingest_source(home, "surveys").rows == 3
    with duckdb.connect(str(home.warehouse)) as con:
        got = con.execute("""select test_type, completed_online, satisfaction, ethnic_language_content
                             from raw.survey_responses order by test_type""").fetchall()
    assert got == [
        ("ethnic_minority", None, None, False),
        ("satisfaction", None, 4.0, None),
        ("service", True, None, None),
    ]
