"""Synthetic inputs at scale, and the benchmark's floor: the same scores as the pipeline's."""

import csv
import subprocess
from datetime import date

import duckdb
import pytest
from conftest import stage

from portal_index.config import Home
from portal_index.demo.synth import add_probe_day, synth
from portal_index.land.snapshots import list_snapshots

pytestmark = pytest.mark.slow  # runs the whole pipeline


INCREMENTAL_PROBE_MODELS = (
    "int_measures__probes",
    "int_probe_outcomes",
    "int_probe_vantages",
    "int_measure_uncertainty__probes",
)


def _contents(home: Home, models) -> dict[str, list[tuple]]:
    """Each model's rows, but its watermark (the load time it was built through), in order."""
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        return {
            m: con.execute(f"select * exclude (probes_loaded_through) from intermediate.{m} order by all").fetchall()
            for m in models
        }


def _full_refresh(home: Home, models) -> None:
    from portal_index.config import DBT_EXECUTABLE, DBT_PROJECT_DIR, dbt_env

    done = subprocess.run(
        [str(DBT_EXECUTABLE), "--quiet", "run", "--full-refresh", "--select", *models]
        + ["--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(home.work / "dbt-bench")],
        cwd=DBT_PROJECT_DIR,
        capture_output=True,
        text=True,
        env={**dbt_env(), "PORTAL_INDEX_HOME": str(home.root), "PORTAL_INDEX_REGISTRY": str(home.registry)},
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def test_synth_writes_every_source_from_a_seed(tmp_path):
    a = synth(Home(tmp_path / "a"), 30, 2, log=lambda m: None)
    b = synth(Home(tmp_path / "b"), 30, 2, log=lambda m: None)
    other = synth(Home(tmp_path / "c"), 30, 2, seed=7, log=lambda m: None)
    with open(a.registry, encoding="utf-8") as f:
        registry = list(csv.DictReader(f))
    assert len(registry) == a.portals == 30 and len({p["portal_id"] for p in registry}) == 30
    assert {p["kind"] for p in registry} == {"info", "service"}
    assert all(p["base_url"].endswith(".synth.invalid/") for p in registry)  # never fetched
    # every portal probed every hour of both days; network failures add their retry rows
    assert a.rows["probes"] >= 30 * 24 * 2 and a.files["probes"] == 2
    # the same seed gives the same bytes, another seed other values
    digests = lambda s, source: sorted(x.sha256 for x in list_snapshots(Home(s.home).snapshots, source))  # noqa: E731
    assert digests(a, "probes") == digests(b, "probes") and a.registry.read_bytes() == b.registry.read_bytes()
    assert digests(a, "probes") != digests(other, "probes")
    # two days are too few for a period's crawl and survey tests; PAPI comes along
    assert "crawl" not in a.files and "surveys" not in a.files and a.files["papi"] == 1


def test_the_floor_computes_the_pipelines_scores_and_incremental_builds_keep_them(synthetic_halves, synthetic_copy):
    home, (_, made) = synthetic_copy, synthetic_halves  # June and July 2026, ingested, built, validated
    assert made["files"]["crawl"] == 2 and made["files"]["surveys"] >= 4  # a crawl and survey tests a half-year
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        grades = dict(con.execute("select grade, count(*) from marts.portal_scores group by all").fetchall())
    assert sum(grades.values()) == 80 and len(set(grades) - {"insufficient_data"}) >= 3  # a spread of grades
    floor = stage("floor", home)
    assert floor["compared"] and floor["scores"] == 80
    assert floor["rows_identical_to_mart"] == 80 and floor["grades_differing"] == 0
    # one more day of probes: the incremental build recomputes that period and agrees with the floor
    rows, snapshot = add_probe_day(home, date(2026, 7, 31))
    assert rows >= 40 * 24 and snapshot.source == "probes"
    stage("ingest", home)
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        before = con.execute("select max(probes_loaded_through) from intermediate.int_measures__probes").fetchone()[0]
    stage("dbt", home)
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        after, last = con.execute(
            "select max(probes_loaded_through), max(evidence) from intermediate.int_measures__probes "
            "where measure = 'availability'"
        ).fetchone()
    assert after > before and "2026-07-31" in last
    # every model incremental by period holds what a build from scratch computes
    kept = _contents(home, INCREMENTAL_PROBE_MODELS)
    _full_refresh(home, INCREMENTAL_PROBE_MODELS)
    assert _contents(home, INCREMENTAL_PROBE_MODELS) == kept
    floor = stage("floor", home)
    assert floor["rows_identical_to_mart"] == 80 and floor["grades_differing"] == 0
    # probes of two periods at once, in one build: the last day of 2025-H2, a period not seen yet, and
    # the probes of a July day again from a vantage that does not score and saw every portal down: the
    # incremental build still equals a build from scratch (a filter of several periods once dropped
    # the conditions written before it)
    add_probe_day(home, date(2025, 12, 31))
    _abroad_and_down(home, "2026-07-02")
    assert stage("ingest", home)["rejected"] == []
    stage("dbt", home)
    kept = _contents(home, INCREMENTAL_PROBE_MODELS)
    assert {p for (_, p, *_) in kept["int_probe_vantages"]} == {"2025-H2", "2026-H1", "2026-H2"}
    assert ("abroad", "2026-H2") in {(v, p) for (_, p, v, *_) in kept["int_probe_vantages"]}
    _full_refresh(home, INCREMENTAL_PROBE_MODELS)
    assert _contents(home, INCREMENTAL_PROBE_MODELS) == kept


def _abroad_and_down(home: Home, day: str) -> None:
    """The synthetic probes of `day` again, as the vantage `abroad` (not scoring) saw them: every
    first attempt timed out. Put in the inbox."""
    (path,) = home.snapshots.glob(f"probes/*/probes-synth-{day}.csv")
    with open(path, encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if not r["retry_of"]]
    blank = ("status", "dns_ms", "connect_ms", "tls_ms", "ttfb_ms", "total_ms", "bytes", "http_version")
    with open(home.inbox("probes") / f"abroad-{day}.csv", "w", encoding="utf-8", newline="") as f:
        out = csv.DictWriter(f, fieldnames=list(rows[0]))
        out.writeheader()
        out.writerows({**r, **dict.fromkeys(blank, ""), "vantage": "abroad", "error": "timeout"} for r in rows)
