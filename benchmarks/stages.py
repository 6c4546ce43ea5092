"""The pipeline's stages, one per process, as the benchmark runs them: `python -m benchmarks.stages
STAGE HOME`. Each prints one JSON line with the rows it handled; the caller measures the process.

- ingest: every snapshot of every source into the raw tables (what the loader assets do)
- dbt: one `dbt build` (seeds, models, data tests: `DBT_BUILD`), as the dbt asset runs it
- validate: the Great Expectations gate on the published tables (inside DuckDB)
- publish: the release (CSV, Parquet, workbook, report, datapackage.json, Frictionless validation)
- floor: one hand-written DuckDB query computing portal_scores straight from the snapshot files
- survey_change: one corrected survey sheet through the inbox sensor's Dagster run
"""

from __future__ import annotations

import json
import subprocess
import sys

from portal_index.config import DBT_BUILD, DBT_EXECUTABLE, DBT_PROJECT_DIR, SOURCES, Home, dbt_env

RAW_ROWS = "select sum(rows) from meta.snapshot_loads where status = 'accepted'"


def _published_rows(home: Home) -> int:
    from portal_index.release.catalog import published_tables

    return _rows(home, "select " + " + ".join(f"(select count(*) from marts.{t})" for t in published_tables()))


def _rows(home: Home, sql: str) -> int:
    import duckdb

    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        return int(con.execute(sql).fetchone()[0] or 0)


def ingest(home: Home) -> dict:
    from portal_index.land.ingest import ingest_source

    reports = {source: ingest_source(home, source) for source in SOURCES}
    rejected = [s.original_name for r in reports.values() for s, _ in r.rejected]
    return {"rows": sum(r.rows for r in reports.values()), "rejected": rejected}


def dbt(home: Home, select: str | None = None) -> dict:
    command = [
        str(DBT_EXECUTABLE),
        "--quiet",
        *DBT_BUILD,
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(home.work / "dbt-bench"),
    ] + (["--select", select] if select else [])
    done = subprocess.run(command, cwd=DBT_PROJECT_DIR, capture_output=True, text=True, env=dbt_env())
    if done.returncode != 0:
        raise SystemExit(f"dbt build failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    results = json.loads((home.work / "dbt-bench" / "run_results.json").read_text())["results"]
    return {
        "rows": _rows(home, RAW_ROWS),
        "nodes": len(results),
        "slowest": sorted(
            ((r["unique_id"].split(".")[-1], round(r["execution_time"], 2)) for r in results), key=lambda x: -x[1]
        )[:6],
    }


def validate(home: Home) -> dict:
    from expectations.gate import validate as gate

    outcomes = gate(home.warehouse)
    failed = {t: o.failures for t, o in outcomes.items() if not o.success}
    if failed:
        raise SystemExit(f"validation failed: {json.dumps(failed, default=str)[:3000]}")
    return {"rows": _published_rows(home)}


def publish(home: Home) -> dict:
    from portal_index.release.publish import publish as release

    result = release(home.warehouse, home.releases, log=lambda m: None)
    return {"rows": _published_rows(home), "version": result.version}


def floor(home: Home) -> dict:
    from benchmarks.floor import portal_scores

    return {**portal_scores(home), "rows": _rows(home, RAW_ROWS)}  # the rows it reads, as for dbt


def survey_change(home: Home) -> dict:
    """One evaluator corrects one answer of one survey sheet: the file goes to the inbox, the inbox
    sensor asks for a run, and that run (in this process, as Dagster runs it) loads the sheet and
    re-runs only the assets that depend on it."""
    import dagster as dg
    import duckdb

    from orchestration.definitions import defs as load_defs
    from orchestration.defs.automation.sensors import inbox_sensor
    from orchestration.defs.resources import PortalIndexResource
    from portal_index.parse.surveys import write_template

    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        portal, day, evaluator, done = con.execute(
            """select portal_id, test_date, evaluator, completed_online from staging.stg_surveys__responses
               where test_type = 'service' and is_current order by portal_id, test_date limit 1"""
        ).fetchone()
    write_template(
        home.inbox("surveys") / "dinh-chinh.xlsx",
        {
            "service": [
                {
                    "portal_id": portal,
                    "test_date": day.strftime("%d/%m/%Y"),
                    "evaluator": evaluator,
                    "completed_online": "không" if done else "có",
                    "notes": "đính chính",
                }
            ]
        },
    )
    home.export(dbt_target="dbt-dagster")
    defs = load_defs()
    resource = PortalIndexResource(home=str(home.root), mode="inbox")
    [request] = list(
        inbox_sensor(
            dg.build_sensor_context(resources={"portal_index": resource}, repository_def=defs.get_repository_def())
        )
    )
    with dg.DagsterInstance.ephemeral() as instance:
        result = defs.resolve_job_def("release_job").execute_in_process(
            instance=instance,
            asset_selection=list(request.asset_selection),
            run_config={
                **request.run_config,
                "resources": {"portal_index": {"config": {"home": str(home.root), "mode": "inbox"}}},
                "loggers": {"console": {"config": {"log_level": "WARNING"}}},
            },
        )
    if not result.success:
        raise SystemExit("the survey run failed")
    materialized = sorted({e.asset_key.to_user_string() for e in result.get_asset_materialization_events()})
    every = sorted(k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys())
    probe_and_crawl = [k for k in every if "probe" in k or "crawl" in k]
    return {
        "rows": 1,
        "materialized_count": len(materialized),
        "assets_total": len(every),
        "materialized": materialized,
        "not_rerun": [k for k in probe_and_crawl if k not in materialized],
    }


STAGES = {
    "ingest": ingest,
    "dbt": dbt,
    "validate": validate,
    "publish": publish,
    "floor": floor,
    "survey_change": survey_change,
}

if __name__ == "__main__":
    stage, root = sys.argv[1], sys.argv[2]
    home = Home.from_env(root)
    home.export()
    extra = sys.argv[3:]
    print(json.dumps(STAGES[stage](home, *extra), default=str))
