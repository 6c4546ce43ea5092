"""A methodology change does not break the series: every period in the warehouse is scored again
under the new version, the release keeps both versions' rows, and the report and the workbook show
the current version only (docs/methodology.md, "Methodology versions")."""

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from openpyxl import load_workbook

from expectations.gate import validate
from portal_index.config import DBT_BUILD, DBT_PROJECT_DIR
from portal_index.release.publish import publish

pytestmark = pytest.mark.slow  # runs dbt and publishes on the demo's warehouse

# version 2 of the rules: grade bands moved down 5 points, a lower coverage threshold, and a
# stricter time to first byte (P02 full marks at 200 ms, none at 1,500 ms)
V2_BANDS = {"A": 85, "B": 75, "C": 60, "D": 45, "E": 0}


def _append(path: Path, rows: list[dict]) -> None:
    with open(path, encoding="utf-8", newline="") as f:
        header = next(csv.reader(f))
    with open(path, "a", encoding="utf-8", newline="") as f:
        csv.DictWriter(f, header, lineterminator="\n").writerows(rows)


def _version_2(project: Path) -> None:
    seeds = project / "seeds" / "methodology"
    _append(
        seeds / "methodology_versions.csv",
        [
            {
                "methodology_version": "2",
                "adopted_on": "2026-07-01",
                "summary_vi": "Hạ ngưỡng xếp loại 5 điểm; TTFB chặt hơn",
                "summary_en": "Grade bands 5 points lower; stricter TTFB",
            }
        ],
    )
    for name, change in (
        ("pillars.csv", lambda r: r),
        ("grade_bands.csv", lambda r: r | {"min_total": str(V2_BANDS[r["grade"]])}),
        ("scoring_parameters.csv", lambda r: r | {"value": "0.60"} if r["parameter"] == "coverage_min" else r),
        ("indicator_catalog.csv", lambda r: r | {"best": "200", "worst": "1500"} if r["indicator_id"] == "P02" else r),
    ):
        with open(seeds / name, encoding="utf-8", newline="") as f:
            v1 = [r for r in csv.DictReader(f) if r["methodology_version"] == "1"]
        _append(seeds / name, [change(dict(r)) | {"methodology_version": "2"} for r in v1])


def test_a_methodology_change_rescores_every_period_and_keeps_both_versions(demo_copy, tmp_path):
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    _version_2(project)
    env = {**os.environ, "PORTAL_INDEX_HOME": str(demo_copy.root), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    dbt = str(Path(sys.executable).parent / "dbt")
    built = subprocess.run(
        [dbt, *DBT_BUILD, "--profiles-dir", str(project), "--target-path", str(tmp_path / "target"), "--log-path",
         str(tmp_path / "logs")],
        cwd=project, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-4000:]

    outcomes = validate(demo_copy.warehouse)
    assert all(o.success for o in outcomes.values()), {t: o.failures for t, o in outcomes.items() if not o.success}
    result = publish(demo_copy.warehouse, demo_copy.releases, log=lambda m: None)
    assert result.version == "2.0.0"  # a new methodology version is a major release
    folder = result.path
    data = folder / "data"

    # both versions for every period and every portal, and nothing else
    with duckdb.connect() as con:
        per_version = con.execute(
            f"""select methodology_version, period, count(*), string_agg(portal_id, ',' order by portal_id)
                from '{data}/portal_scores.parquet' group by all order by all"""
        ).fetchall()
        periods = {p for _, p, _, _ in per_version}
        assert {(v, p) for v, p, _, _ in per_version} == {(v, p) for v in ("1", "2") for p in periods}
        by_period = {}
        for _, period, n, portals in per_version:  # the same portals under both versions
            assert by_period.setdefault(period, (n, portals)) == (n, portals)
        # v1 rows are exactly what the release before held; v2 rows follow v2's bands and P02 rule
        v1_before = con.execute(
            f"""select portal_id, period, total, grade from '{demo_copy.releases}/1.0.0/data/portal_scores.parquet'
                except select portal_id, period, total, grade from '{data}/portal_scores.parquet'
                where methodology_version = '1'"""
        ).fetchall()
        assert v1_before == []
        wrong_band = con.execute(
            f"""select portal_id, total, grade from '{data}/portal_scores.parquet'
                where methodology_version = '2' and grade <> 'insufficient_data' and grade <> case
                    when total >= 85 then 'A' when total >= 75 then 'B' when total >= 60 then 'C'
                    when total >= 45 then 'D' else 'E' end"""
        ).fetchall()
        assert wrong_band == []
        regraded = con.execute(
            f"""select count(*) from '{data}/portal_scores.parquet' as a
                join '{data}/portal_scores.parquet' as b using (portal_id, period)
                where a.methodology_version = '1' and b.methodology_version = '2' and a.grade <> b.grade"""
        ).fetchall()[0][0]
        assert regraded > 0
        p02 = con.execute(
            f"""select a.score, b.score, b.raw_value from '{data}/indicator_values.parquet' as a
                join '{data}/indicator_values.parquet' as b using (portal_id, period, indicator_id)
                where indicator_id = 'P02' and a.methodology_version = '1' and b.methodology_version = '2'
                  and b.raw_value between 250 and 1500"""
        ).fetchall()
        assert p02 and all(v2 < v1 for v1, v2, _ in p02)  # stricter thresholds, lower scores
        catalog = con.execute(
            f"select methodology_version, count(*) from '{data}/indicators.parquet' group by all order by 1"
        ).fetchall()
        assert catalog == [("1", 26), ("2", 26)]

    d = json.loads((folder / "datapackage.json").read_text())
    assert d["methodology_version"] == "2"
    assert [v["version"] for v in d["methodology_versions"]] == ["1", "2"]
    assert d["changes"]["methodology_version_change"] == ["1", "2"]
    assert "v1 → v2" in (folder / "CHANGELOG.md").read_text(encoding="utf-8")

    # the report and the workbook's summary compare like with like: the current version only
    with open(data / "portal_scores.csv", encoding="utf-8", newline="") as f:
        current = [r for r in csv.DictReader(f) if r["methodology_version"] == "2" and r["period"] == d["period"]]
    summary = load_workbook(folder / "portal-index.xlsx", read_only=True)["Tổng hợp"]
    rows = list(summary.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(current)
    header = [c.value for c in next(summary.iter_rows(max_row=1))]
    totals = {r[0]: r[header.index("Tổng điểm")] for r in rows}
    assert totals == {r["portal_id"]: (float(r["total"]) if r["total"] else None) for r in current}
    report = (folder / "report.html").read_text(encoding="utf-8")
    assert "v2" in report
