"""Runs on a copy of the demo's working folder when files arrive in its inbox. One day of the inbox
(a module fixture: two runs shared by several tests, each pipeline run costing half a minute of CPU):
a corrected survey sheet supersedes the earlier test; a hostile file among good ones is reported
while the good ones publish, and blocks no later run; the surveys of 2025-H1, the last half-year of
the 63 provinces, name the province each removed portal's province became part of (the inbox
sensor's own run: test_inbox_sensor.py). Apart from `test_pipeline.py`, so that `make test` runs
these in another process than its tests (a file per process) once the demo is made."""

import csv
import json
import re
import shutil
import zipfile
from dataclasses import dataclass

import duckdb
import pytest
from conftest import cli
from test_changes import _rows

from orchestration.defs.scoring.build_folders import KEPT_BUILDS
from portal_index.config import Home

pytestmark = pytest.mark.slow  # runs the whole pipeline


def _the_first_service_test_answered_otherwise(home, target, notes: str | None = None) -> tuple:
    """A survey sheet at `target` answering the first service test of the demo the other way;
    returns that test's (portal, day, evaluator, its answer before)."""
    from portal_index.parse.surveys import write_template

    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        portal, day, evaluator, done = con.execute(
            """select portal_id, test_date, evaluator, completed_online from staging.stg_surveys__responses
               where test_type = 'service' order by portal_id, test_date limit 1"""
        ).fetchone()
    answer = {
        "portal_id": portal,
        "test_date": day.strftime("%d/%m/%Y"),
        "evaluator": evaluator,
        "completed_online": "không" if done else "có",
    }
    write_template(target, {"service": [{**answer, **({"notes": notes} if notes else {})}]})
    return portal, day, evaluator, done


@dataclass
class InboxDay:
    home: Home
    corrected: tuple  # the service test the corrected sheet answers otherwise: portal, day, evaluator, before
    strict: object  # `run --mode inbox --strict` with the files below in the inbox
    before: list[str]  # the releases after it
    again: object  # `run --demo` after it: nothing new to fetch in the period, nor to load


def _a_bomb_beside_a_good_sheet(home: Home) -> None:
    """A good satisfaction sheet `tot.xlsx` and `bom.xlsx`, the same workbook claiming the whole grid."""
    from portal_index.parse.surveys import write_template

    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        portal, day = con.execute(
            "select portal_id, max(test_date) from staging.stg_surveys__responses where test_type = 'satisfaction' "
            "group by 1 order by 1 limit 1"
        ).fetchall()[0]
    good = home.inbox("surveys") / "tot.xlsx"
    write_template(
        good,
        {
            "satisfaction": [
                {"portal_id": portal, "test_date": day.strftime("%d/%m/%Y"), "evaluator": "ĐGV-99", "satisfaction": 5}
            ]
        },
    )
    with zipfile.ZipFile(good) as src:
        parts = {n: src.read(n) for n in src.namelist()}
    sheet = next(n for n in parts if n.startswith("xl/worksheets/"))
    parts[sheet] = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', parts[sheet])
    with zipfile.ZipFile(home.inbox("surveys") / "bom.xlsx", "w") as dst:
        for name, data in parts.items():
            dst.writestr(name, data)


@pytest.fixture(scope="module")
def inbox_day(demo_run, tmp_path_factory) -> InboxDay:
    """On a copy of the demo: a corrected survey sheet ingested by hand; then, in the inbox, a good
    sheet, a workbook bomb and the demo's surveys of 2025-H1; `run --mode inbox --strict`; then the
    demo's run again, in the same half-year."""
    from portal_index.demo.inputs import write_demo_surveys

    demo, _ = demo_run
    home = Home(tmp_path_factory.mktemp("inbox-day") / "home")
    shutil.copytree(demo.root, home.root, symlinks=True)
    corrected = home.root.parent / "dinh-chinh.xlsx"
    answered = _the_first_service_test_answered_otherwise(home, corrected, "đính chính")
    cli("ingest", str(corrected), home=home.root, check=True)
    _a_bomb_beside_a_good_sheet(home)
    write_demo_surveys(home.inbox("surveys") / "khao-sat-2025-H1.xlsx", "2025-H1")
    strict = cli("run", "--mode", "inbox", "--strict", home=home.root)
    # the tests below read this run's release: without one, each fails here with the run's own words
    assert "release: " in strict.stdout, f"the inbox run published nothing:\n{strict.stdout}\n{strict.stderr[-3000:]}"
    before = sorted(p.name for p in home.releases.iterdir())
    again = cli("run", "--demo", home=home.root)
    return InboxDay(home, answered, strict, before, again)


def test_a_corrected_survey_file_supersedes_the_earlier_test(inbox_day):
    home, (portal, day, evaluator, done) = inbox_day.home, inbox_day.corrected
    period = f"{day.year}-H{1 if day.month <= 6 else 2}"
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        rows = con.execute(
            """select file_name, completed_online, is_current, superseded_reason
                              from staging.stg_surveys__responses
                              where portal_id = ? and test_date = ? and evaluator = ? order by is_current""",
            [portal, day, evaluator],
        ).fetchall()
        [(evidence,)] = con.execute(
            """select evidence from marts.indicator_values
                                  where portal_id = ? and period = ? and indicator_id = 'F09'""",
            [portal, period],
        ).fetchall()
    (old_file, old_value, old_current, reason), (new_file, new_value, new_current, no_reason) = rows
    assert (old_value, old_current, new_file, new_value, new_current) == (
        done,
        False,
        "dinh-chinh.xlsx",
        not done,
        True,
    )
    assert reason.startswith("superseded by dinh-chinh.xlsx") and no_reason is None
    assert "dinh-chinh.xlsx / Dịch vụ công / row 2" in evidence  # the published evidence cites the correction


def test_a_hostile_file_dropped_with_good_ones_is_reported_and_the_good_ones_publish(inbox_day):
    """A workbook claiming the whole grid, next to good survey sheets: the good ones load and a new
    release is published, the hostile one is in the run's summary, and --strict says so by its status."""
    result = inbox_day.strict
    assert result.returncode == 3, result.stderr[-2000:]
    assert "release: " in result.stdout and "unchanged" not in result.stdout  # the good sheets give a new release
    assert "inputs: 2 file(s) loaded" in result.stderr and "1 rejected" in result.stderr
    assert "REJECTED surveys/bom.xlsx" in result.stderr and "A1:XFD1048576" in result.stderr
    assert "nanobind" not in result.stderr
    with duckdb.connect(str(inbox_day.home.warehouse), read_only=True) as con:  # the good sheet's own row
        assert con.execute(
            "select file_name from staging.stg_surveys__responses where evaluator = 'ĐGV-99' and is_current"
        ).fetchall() == [("tot.xlsx",)]
    again = inbox_day.again  # the rejected file does not block a later run
    assert again.returncode == 0 and ", 0 rejected" in again.stderr, again.stderr[-2000:]


def test_running_again_in_the_period_fetches_nothing_again_and_changes_nothing(inbox_day):
    """A second `run --demo` in the half-year: the crawl and the audit are not done again (the probes
    neither, within the hour), the data is rebuilt from what the warehouse holds, and no release is new."""
    result, home = inbox_day.again, inbox_day.home
    assert result.returncode == 0, result.stderr[-2000:]
    assert "crawl_job: not run, all " in result.stderr and " portals were crawled in " in result.stderr
    assert "audit_job: not run, all " in result.stderr and " portals the audit visits were audited in " in result.stderr
    assert "release:" in result.stdout
    if "probe_job: not run, the probes of hour " in result.stderr:  # within the hour: nothing new
        assert "inputs: 0 file(s) loaded" in result.stderr and "unchanged since" in result.stdout
        assert sorted(p.name for p in home.releases.iterdir()) == inbox_day.before
    else:  # the hour turned since the demo's run: its probes are the only new input, one new release
        assert "probe_job: not run" not in result.stderr and "inputs: 1 file(s) loaded" in result.stderr
        assert "unchanged since" not in result.stdout
        after = sorted(p.name for p in home.releases.iterdir())
        assert len(after) == len(inbox_day.before) + 1 and set(inbox_day.before) < set(after)
    builds = [p for p in (home.work / "dbt").iterdir() if p.is_dir()]  # the demo's, the inbox run's, this one's
    assert 0 < len(builds) <= KEPT_BUILDS and all((b / "dbt.log").exists() for b in builds)


def test_portals_removed_at_the_province_merger_name_the_province_they_became_part_of(inbox_day):
    """The demo's surveys of 2025-H1 (in the inbox day), the last half-year of the 63 provinces, land
    beside its 2026-H2 data: the 63-era portals that ended on 2025-06-30 are removed, each with the 34-era
    province its province was merged into; the portals created for the 34 provinces are new."""
    folder = (inbox_day.home.releases / "latest").resolve()
    d = json.loads((folder / "datapackage.json").read_text())
    assert d["periods"][0] == "2025-H1" and d["period"] == "2026-H2"
    changes = [c for c in _rows(folder, "portal_changes", d["methodology_version"]) if c["period"] == "2026-H2"]
    assert {c["previous_period"] for c in changes} == {"2025-H1"}
    with open(folder / "data" / "portals.csv", encoding="utf-8", newline="") as f:
        portals = {p["portal_id"]: p for p in csv.DictReader(f)}
    with open(folder / "data" / "provinces.csv", encoding="utf-8", newline="") as f:
        successor = {p["province_id"]: p["successor_province_id"] for p in csv.DictReader(f)}
    removed = {c["portal_id"]: c for c in changes if c["change_kind"] == "removed"}
    ended = {pid for pid, p in portals.items() if "2025-01-01" <= p["valid_to"] < "2026-07-01"}
    assert removed and set(removed) == ended
    merged = {pid for pid in removed if portals[pid]["owner_type"] == "province"}
    assert merged
    for pid, c in removed.items():  # e.g. Bắc Giang's portals: Bắc Giang became part of Bắc Ninh
        expected = successor[portals[pid]["province_id_63"]] if pid in merged else ""
        assert c["merged_into_province_id"] == expected, pid
    new = {c["portal_id"] for c in changes if c["change_kind"] == "new"}
    assert new == {pid for pid, p in portals.items() if "2025-06-30" < p["valid_from"] <= "2026-12-31"}
    # the report names the new province of each removed portal
    from selectolax.lexbor import LexborHTMLParser

    section = LexborHTMLParser((folder / "report.html").read_text(encoding="utf-8")).css_first("#changes")
    listed = {li.attributes["data-portal"]: li.text() for li in section.css("ul.removed li")}
    assert set(listed) == set(removed)
    with open(folder / "data" / "provinces.csv", encoding="utf-8", newline="") as f:
        names = {p["province_id"]: p["name_vi"] for p in csv.DictReader(f)}
    assert all(f"sáp nhập vào {names[removed[pid]['merged_into_province_id']]}" in listed[pid] for pid in merged)
