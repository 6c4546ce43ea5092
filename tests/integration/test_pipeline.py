"""The whole pipeline on the demo, through the command line, and what a user checks on its release."""

import csv
import hashlib
import json
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import pytest
import yaml
from conftest import BIN, change_and_validate, cli

from portal_index.core.registry import active_portals
from portal_index.release.publish import NotValidated, publish

pytestmark = pytest.mark.slow  # runs the whole pipeline


def release_dir(home) -> Path:
    return (home.releases / "latest").resolve()


def test_run_prints_the_release_it_wrote(demo_run):
    home, result = demo_run
    assert result.stdout.strip() == f"release: {release_dir(home)}"
    assert (home.releases / "latest").is_symlink()


def test_release_has_every_table_as_csv_and_parquet_with_bytes_and_sha256(demo_run):
    home, _ = demo_run
    folder = release_dir(home)
    d = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    tables = [
        "portal_scores",
        "portal_changes",
        "province_summary",
        "indicator_values",
        "probe_vantages",
        "evaluator_agreement",
        "papi_scores",
        "indicators",
        "portals",
        "provinces",
        "ministries",
    ]
    assert [r["name"] for r in d["resources"]] == [n for t in tables for n in (t, f"{t}-parquet")]
    for f in d["files"]:
        data = (folder / f["path"]).read_bytes()
        assert len(data) == f["bytes"] and hashlib.sha256(data).hexdigest() == f["sha256"]
    for r in d["resources"]:
        assert r["schema"]["fields"] and all(f["description"] for f in r["schema"]["fields"])
        assert r["schema"]["primaryKey"]
    assert d["version"] == folder.name == "1.0.0" and d["period"] and d["methodology_version"] == "1"
    assert d["demo"] is True and "DEMO" in d["title"]
    from portal_index.fetch.browser import find_chromium

    audited = {"audits"} if find_chromium() else set()  # the browser audit runs where Chromium is installed
    assert {s["source"] for s in d["snapshots"]} == {"crawl", "probes", "surveys", "papi"} | audited
    assert d["licenses"][0]["name"] == "CC-BY-4.0"


def test_frictionless_validate_passes(demo_run):
    home, _ = demo_run
    result = subprocess.run(
        [str(BIN / "frictionless"), "validate", "datapackage.json"],
        cwd=release_dir(home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "INVALID" not in result.stdout


def test_a_researchers_first_query(demo_run):
    home, _ = demo_run
    parquet = release_dir(home) / "data" / "portal_scores.parquet"
    result = subprocess.run(
        [str(BIN / "duckdb"), "-csv", "-c", f"select grade, count(*) from '{parquet}' group by 1 order by 1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    counts = dict(line.split(",") for line in result.stdout.strip().splitlines()[1:])
    assert set(counts) <= {"A", "B", "C", "D", "E", "insufficient_data"}
    assert sum(int(n) for n in counts.values()) == len(
        active_portals(json.loads((release_dir(home) / "datapackage.json").read_text())["period"])
    )


def test_published_grades_agree_with_published_totals_and_bands(demo_run):
    home, _ = demo_run
    with open(release_dir(home) / "data" / "portal_scores.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    bands = [("A", 90), ("B", 80), ("C", 65), ("D", 50), ("E", 0)]
    graded = [r for r in rows if r["grade"] != "insufficient_data"]
    assert graded, "the demo should grade most portals"
    for r in rows:
        if r["grade"] == "insufficient_data":
            assert Decimal(r["coverage"]) < Decimal("0.70") and r["rank"] == ""
        else:
            total = Decimal(r["total"])
            assert r["grade"] == next(g for g, lo in bands if total >= lo) and Decimal(r["coverage"]) >= Decimal("0.70")
    for group in {r["peer_group"] for r in graded}:  # competition ranking on the published total
        peers = sorted((r for r in graded if r["peer_group"] == group), key=lambda r: -Decimal(r["total"]))
        for r in peers:
            assert int(r["rank"]) == 1 + sum(Decimal(p["total"]) > Decimal(r["total"]) for p in peers)


def test_a_corrupted_value_blocks_the_release(demo_copy):
    with duckdb.connect(str(demo_copy.warehouse)) as con:
        con.execute("update marts.portal_scores set total = 12.00 where grade = 'A'")  # letter no longer agrees
    before = sorted(p.name for p in demo_copy.releases.iterdir())
    result = cli("release", home=demo_copy.root)
    assert result.returncode == 1
    assert "FAILED CHECK marts/portal_scores:great_expectations" in result.stderr
    assert "did not publish a release" in result.stderr
    assert sorted(p.name for p in demo_copy.releases.iterdir()) == before
    # and the publisher itself refuses, whoever calls it
    with pytest.raises(NotValidated, match="portal_scores: its current contents failed validation"):
        publish(demo_copy.warehouse, demo_copy.releases)
    assert sorted(p.name for p in demo_copy.releases.iterdir()) == before


def test_the_not_null_test_names_each_listed_column_that_holds_a_null(demo_copy):
    """`not_null_columns` (dbt_project/macros), one test for all of a model's required columns: the
    SQL the demo's build ran finds nothing in its warehouse, and names each column a null is put in,
    with how many rows lack it."""
    build = max((demo_copy.work / "dbt").glob("portal_index_dbt-*"), key=lambda p: p.stat().st_mtime)
    [compiled] = build.glob("compiled/portal_index/models/marts/portal_scores.yml/not_null_columns_portal_scores_*.sql")
    sql = compiled.read_text(encoding="utf-8")
    with duckdb.connect(str(demo_copy.warehouse)) as con:
        assert con.execute(sql).fetchall() == []
        con.execute(
            """update marts.portal_scores set grade = null
               where portal_id in (select portal_id from marts.portal_scores order by all limit 2)"""
        )
        con.execute(
            "update marts.portal_scores set period = null "
            "where portal_id = (select min(portal_id) from marts.portal_scores)"
        )
        found = dict(con.execute(sql).fetchall())
        nulls = "select count(*) filter (where {} is null) from marts.portal_scores"
        rows = {c: con.execute(nulls.format(c)).fetchall()[0][0] for c in ("period", "grade")}
    assert set(found) == {"period", "grade"} and found == rows and found["grade"] >= 2


def test_changed_data_gives_a_new_release_and_latest_moves(demo_copy):
    change_and_validate(
        demo_copy, "update marts.portals set name_en = name_en || ' (renamed)' where portal_id = 'hanoi-info'"
    )
    result = publish(demo_copy.warehouse, demo_copy.releases, log=lambda m: None)
    assert result.version == "1.0.1" and (demo_copy.releases / "latest").resolve() == result.path  # a correction
    assert json.loads((result.path / "datapackage.json").read_text())["demo"] is True  # known from its inputs
    old = json.loads((demo_copy.releases / "1.0.0" / "datapackage.json").read_text())
    new = json.loads((result.path / "datapackage.json").read_text())
    changed = {f["path"] for f in new["files"]} - {(f["path"]) for f in new["files"] if f in old["files"]}
    assert changed == {
        "data/portals.csv",
        "data/portals.parquet",
        "portal-index.xlsx",
        "DATA_DICTIONARY.md",
        "CHANGELOG.md",
        "report.html",
    }
    assert new["changes"]["tables"] == {
        "portals": {
            "added": 0,
            "removed": 0,
            "changed": 1,
            "fields_added": [],
            "fields_removed": [],
            "fields_retyped": [],
            "new_table": False,
        }
    }


def test_a_validation_is_reused_only_for_the_same_inputs_and_only_when_it_passed(demo_copy, tmp_path):
    """Also which tables a validation would have to run for (`not_validated_as_they_are`): those
    whose own rows, or what their suites read, changed since their last passing validation."""
    from expectations.gate import not_validated_as_they_are, unvalidated, validate

    wh = demo_copy.warehouse
    assert not_validated_as_they_are(wh) == ()
    first = validate(wh)  # the demo run validated these very tables, with these suites
    assert all(o.success and o.reused and o.evaluated > 0 for o in first.values())
    with duckdb.connect(str(wh)) as con:  # a seed the suites read, not a published table
        con.execute("update seeds.methodology_versions set summary_en = summary_en || '.'")
    assert not_validated_as_they_are(wh) == ("portal_scores",)  # the one suite that reads that seed
    again = validate(wh)
    assert all(o.success and not o.reused for o in again.values())
    assert {t: o.evaluated for t, o in again.items()} == {t: o.evaluated for t, o in first.items()}
    assert all(o.reused for o in validate(wh).values())
    with duckdb.connect(str(wh)) as con:  # the seed as it was: the first validation holds again
        con.execute("update seeds.methodology_versions set summary_en = left(summary_en, length(summary_en) - 1)")
    assert all(o.reused for o in validate(wh).values())
    with duckdb.connect(str(wh)) as con:
        assert unvalidated(con, tuple(first)) == {}  # the reuse is the latest run the publisher sees
    docs = tmp_path / "docs"  # data docs asked for where there are none: the suites run to write them
    assert not any(o.reused for o in validate(wh, docs_dir=docs).values()) and (docs / "index.html").is_file()
    assert all(o.reused for o in validate(wh, docs_dir=docs).values())
    with duckdb.connect(str(wh)) as con:
        con.execute("update marts.portal_scores set total = 12.00 where grade = 'A'")
    for _ in range(2):  # a failure is never reused: each time the suite runs and fails again
        bad = validate(wh, ("portal_scores",))["portal_scores"]
        assert not bad.success and not bad.reused and bad.failures
    assert not_validated_as_they_are(wh) == ("portal_scores",)  # a failure is no passing validation
    with duckdb.connect(str(wh)) as con:
        assert unvalidated(con, ("portal_scores",)) == {"portal_scores": "its current contents failed validation"}
        con.execute("alter table marts.indicators alter column weight type varchar")  # the same text, as a string
    assert not validate(wh, ("indicators",))["indicators"].reused


def test_ingest_command_accepts_rejects_and_ignores_repeats(demo_copy, tmp_path):
    good = tmp_path / "papi-2025.csv"
    good.write_text("province,year,dimension,score\nThái Nguyên,2025,8,4.01\n", encoding="utf-8")
    ok = cli("ingest", str(good), home=demo_copy.root)
    assert ok.returncode == 0 and "accepted papi-2025.csv as papi: 1 rows loaded" in ok.stdout
    again = cli("ingest", str(good), home=demo_copy.root)
    assert again.returncode == 0 and "already loaded" in again.stdout
    bad = tmp_path / "papi-bad.csv"
    bad.write_text("province,year,dimension,score\nAtlantis,2025,8,4.01\n", encoding="utf-8")
    rejected = cli("ingest", str(bad), home=demo_copy.root)
    assert rejected.returncode == 1
    assert "REJECTED papi-bad.csv (papi)" in rejected.stderr
    assert "papi-bad.csv, row 2, column 'province': got 'Atlantis', expected a province name or code" in rejected.stderr


def test_dbt_unit_tests_pass_on_the_built_warehouse(demo_copy, tmp_path):
    """Through dbt's launcher, in the copy's working folder, from the parse its build kept (as a
    user's `portal-index-dbt test` would start: tests/integration/test_dbt_manifest.py)."""
    from portal_index.config import DBT_EXECUTABLE, DBT_PROJECT_DIR, dbt_env

    (tmp_path / "target").mkdir()
    shutil.copyfile(demo_copy.work / "dbt" / "partial_parse.msgpack", tmp_path / "target" / "partial_parse.msgpack")
    result = subprocess.run(
        [
            str(DBT_EXECUTABLE),
            "test",
            "--select",
            "test_type:unit",
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        env={**dbt_env(), "PORTAL_INDEX_HOME": str(demo_copy.root), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    names = sorted(r["unique_id"].split(".")[-1] for r in results if r["status"] == "pass")
    declared = sorted(  # every unit test the project's YAML declares ran, and passed
        t["name"]
        for path in DBT_PROJECT_DIR.glob("models/**/*.yml")
        for t in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("unit_tests", [])
    )
    assert len(declared) >= 25 and names == declared


def test_template_command_writes_a_blank_template(tmp_path):
    target = tmp_path / "mau-khao-sat.xlsx"
    result = cli("template", str(target), home=tmp_path / "home", check=True)
    assert target.exists() and "wrote the blank survey template" in result.stdout
    assert cli("template", str(target), home=tmp_path / "home").returncode == 2  # never overwrites by surprise


def test_every_indicator_has_data_for_some_demo_portal(demo_run):
    home, _ = demo_run
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        empty = con.execute("""select indicator_id from marts.indicator_values group by 1
                               having count(*) filter (where has_data) = 0 order by 1""").fetchall()
    assert empty == []


def test_the_warehouse_and_python_state_the_same_calendar_and_validity(demo_run):
    """The half-year and validity rules exist once in SQL (macros, int_portal_periods) and once in
    Python (core.periods); both read the same constants. Here they must agree on the demo's data."""
    from portal_index.core.periods import period_bounds

    home, _ = demo_run
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        periods = con.execute("select period, period_start, period_end from intermediate.int_periods").fetchall()
        assessed = con.execute(
            "select period, list(portal_id order by portal_id) from intermediate.int_portal_periods group by 1"
        ).fetchall()
    assert periods and all(period_bounds(p) == (start, end) for p, start, end in periods)
    assert {p: ids for p, ids in assessed} == {
        p: sorted(r["portal_id"] for r in active_portals(p)) for p, _, _ in periods
    }


def test_what_could_not_be_measured_is_not_measurable_with_its_reason(demo_run):
    """Nothing measured is guessed: a demo portal whose home page answers 503 has its crawl indicators
    not measurable (http_error), never 0; it is insufficient_data with that reason, never graded;
    the release publishes both columns and the report shows the reason."""
    home, _ = demo_run
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        failed = {
            r[0]
            for r in con.execute("""select portal_id from raw.crawl_pages  -- a wall's 403/429/503 is `blocked`
                                    where role = 'page' and depth = 0 and status >= 400 and error is null""").fetchall()
        }
        crawl = con.execute(
            """select portal_id, list(distinct measurement_status), list(distinct status_reason),
                      count(*) filter (where score is not null)
               from marts.indicator_values where source = 'crawl' and portal_id in ? group by 1""",
            [sorted(failed)],
        ).fetchall()
        reasons = {r[0] for r in con.execute("select status_reason from seeds.status_reasons").fetchall()}
        statuses = dict(
            con.execute("select measurement_status, count(*) from marts.indicator_values group by 1").fetchall()
        )
        unexplained = con.execute("""select count(*) from marts.indicator_values
                                     where (measurement_status = 'not_measurable') <> (status_reason is not null)
                                        or (measurement_status = 'measured') <> has_data""").fetchone()[0]
    assert failed, "the demo has portals whose home page fails"
    assert {p: (s, r, n) for p, s, r, n in crawl} == {p: (["not_measurable"], ["http_error"], 0) for p in failed}
    assert statuses["measured"] > 0 and statuses["not_measurable"] > 0 and unexplained == 0
    folder = release_dir(home)
    with open(folder / "data" / "portal_scores.csv", encoding="utf-8", newline="") as f:
        scores = {r["portal_id"]: r for r in csv.DictReader(f)}
    with open(folder / "data" / "indicator_values.csv", encoding="utf-8", newline="") as f:
        assert {"measurement_status", "status_reason"} <= set(next(csv.DictReader(f)))
    for portal in failed:
        assert (scores[portal]["grade"], scores[portal]["status_reason"]) == ("insufficient_data", "http_error")
    for r in scores.values():
        assert (r["grade"] == "insufficient_data") == (r["status_reason"] != "")
        assert r["status_reason"] == "" or r["status_reason"] in reasons
    report = (folder / "report.html").read_text(encoding="utf-8")
    boards = "".join(re.findall(r'<table class="board".*?</table>', report, re.S))  # the leaderboards
    assert boards.count('class="reason" data-reason="http_error"') == len(failed)


def test_the_demo_release_shows_real_portals(demo_run):
    """A rendered SPA portal whose features are found, bot-walled portals whose crawl and probe
    indicators are not measurable (blocked), portals with an incomplete chain (read, P05 0), HTTPS
    portals with P05 1, and evidence under the portals' own URLs."""
    from portal_index.demo.simulator import PLAIN_TLS, profile
    from portal_index.fetch.render import find_render_chromium

    home, _ = demo_run
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        base = dict(con.execute("select portal_id, base_url from marts.portals").fetchall())
        rows = con.execute(
            """select portal_id, indicator_id, source, raw_value, measurement_status, status_reason, evidence
               from marts.indicator_values"""
        ).fetchall()
        rendered = {
            r[0] for r in con.execute("select portal_id from raw.crawl_pages where read_as = 'rendered'").fetchall()
        }
        chains = {
            r[0]
            for r in con.execute("select portal_id from raw.probes where tls_fault = 'tls_incomplete_chain'").fetchall()
        }
    if find_render_chromium() is not None:
        spa = {p for p in rendered if profile(p).app == "spa"}
        found = [r for r in rows if r[0] in spa and r[2] == "crawl" and r[3] and "[rendered]" in (r[6] or "")]
        assert spa and found, "an SPA portal was rendered and its features found in the rendered DOM"
    walled = {r[0] for r in rows if profile(r[0]).wall != "none" and profile(r[0]).tls in PLAIN_TLS}
    assert walled
    for portal in walled:
        fetched = [r for r in rows if r[0] == portal and r[2] in ("crawl", "probes")]
        assert {(r[4], r[5]) for r in fetched} == {("not_measurable", "blocked")}, portal
    p05 = {r[0]: r[3] for r in rows if r[1] == "P05"}
    assert chains and all(p05[p] == 0 for p in chains)
    assert any(v == 1 for v in p05.values()) and all(base[p].startswith("https://") for p, v in p05.items() if v == 1)
    urls = [(r[0], r[6]) for r in rows if r[2] == "crawl" and (r[6] or "").startswith("http")]
    host = lambda url: urlsplit(url).hostname  # noqa: E731 (an http-only portal is crawled over http)
    assert urls and all(host(evidence.split(" ")[0]) == host(base[portal]) for portal, evidence in urls)


TEXT_FILES = (".md", ".json", ".csv", ".html", ".css", ".txt", ".jsonl", "")


def test_no_generated_text_file_holds_an_unfilled_placeholder(demo_run):

    folder = release_dir(demo_run[0])
    ours = re.compile(r"\{[A-Z][A-Z0-9_]{2,}\}|\{\{\s*\w+\s*\}\}|\{%")
    # the dbt and GX viewers under docs/ hold client-side templates and the models' Jinja SQL:
    # `{{ k }}` and `{%- if` are theirs, `{WORKBOOK}` is not
    viewers = re.compile(r"\{[A-Z][A-Z0-9_]{2,}\}")
    checked = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in TEXT_FILES):
        text = path.read_text(encoding="utf-8", errors="replace")
        found = (viewers if path.relative_to(folder).parts[0] == "docs" else ours).search(text)
        assert found is None, f"{path.relative_to(folder)}: {found.group(0)!r} at {found.start()}"
        checked += 1
    assert checked >= 20


def test_data_docs_carry_only_the_assets_their_pages_use_and_every_local_link_resolves(demo_run):

    folder = release_dir(demo_run[0])
    docs = folder / "docs" / "great_expectations"
    pages = sorted(docs.rglob("*.html"))
    assert pages and not list(folder.rglob("*.gif")) and not list(folder.rglob("*.otf"))
    static = sorted(p for p in (docs / "static").rglob("*") if p.is_file())
    assert sum(p.stat().st_size for p in static) < 200_000
    reference = re.compile(r"""(?:src|href)\s*=\s*["']([^"'#?]+)""")
    for page in pages:
        for ref in reference.findall(page.read_text(encoding="utf-8")):
            target = (page.parent / ref).resolve()
            if "://" not in ref and target.is_relative_to((docs / "static").resolve()):  # kept when used
                assert target.exists(), f"{page.relative_to(folder)} links to a missing {ref}"


def test_the_readme_snippets_run_in_the_release_folder(demo_run):

    folder = release_dir(demo_run[0])
    readme = (folder / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert len(blocks) == 3 and {"duckdb", "polars", "pandas"} == {
        m for b in blocks for m in re.findall(r"^import (\w+)", b, re.M)
    }
    for block in blocks:
        done = subprocess.run([sys.executable, "-c", block], cwd=folder, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip()


def test_province_summary_counts_every_provincial_portal_in_both_maps(demo_run):
    folder = release_dir(demo_run[0])
    with duckdb.connect() as con:
        data = folder / "data"
        mismatched = con.execute(
            f"""with s as (select * from '{data}/portal_scores.parquet' where owner_type = 'province')
                select count(*) from '{data}/province_summary.parquet' as p
                where p.era = '34' and p.portals <> (select count(*) from s
                      where s.period = p.period and s.owner_province_id = p.province_id)"""
        ).fetchall()[0][0]
        eras = dict(
            con.execute(f"select era, sum(portals) from '{data}/province_summary.parquet' group by 1").fetchall()
        )
        orphans = con.execute(
            f"""select count(*) from '{data}/province_summary.parquet' as old
                where old.era = '63' and not exists (select 1 from '{data}/provinces.parquet' as pr
                      where pr.province_id = old.successor_province_id and pr.era = '34')"""
        ).fetchall()[0][0]
        provincial = con.execute(
            f"select count(*) from '{data}/portal_scores.parquet' where owner_type = 'province'"
        ).fetchall()[0][0]
    assert mismatched == 0 and orphans == 0
    assert eras["34"] == eras["63"] == provincial  # each portal counted once in each map
    report = (folder / "report.html").read_text(encoding="utf-8")
    assert 'id="province-summary"' in report and 'data-era="63" class="old"' in report
