"""Runs on a copy of the demo's working folder when files arrive in its inbox: a corrected survey
sheet supersedes the earlier test, the inbox sensor's run rebuilds only what depends on the file,
and a hostile file among good ones is reported while the good ones publish. Apart from
`test_pipeline.py`, so that `make test` runs these beside its tests (a file per process)."""

import re

import duckdb
import pytest
from conftest import cli

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


def test_a_corrected_survey_file_supersedes_the_earlier_test(demo_copy, tmp_path):
    corrected = tmp_path / "dinh-chinh.xlsx"
    portal, day, evaluator, done = _the_first_service_test_answered_otherwise(demo_copy, corrected, "đính chính")
    assert cli("ingest", str(corrected), home=demo_copy.root, check=True).returncode == 0
    cli("run", "--mode", "inbox", home=demo_copy.root, check=True)
    with duckdb.connect(str(demo_copy.warehouse), read_only=True) as con:
        rows = con.execute(
            """select file_name, completed_online, is_current, superseded_reason
                              from staging.stg_surveys__responses
                              where portal_id = ? and test_date = ? and evaluator = ? order by is_current""",
            [portal, day, evaluator],
        ).fetchall()
        evidence = con.execute(
            """select evidence from marts.indicator_values
                                  where portal_id = ? and indicator_id = 'F09'""",
            [portal],
        ).fetchone()[0]
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


def test_a_changed_survey_sheet_reruns_only_what_depends_on_it(demo_copy, tmp_path):
    """The inbox sensor's run for one survey file: the survey loader, the survey models and what
    follows them are materialised; the probe and crawl models are not touched."""
    import dagster as dg

    from orchestration.definitions import defs as load_defs
    from orchestration.defs.automation.sensors import inbox_sensor
    from orchestration.defs.resources import PortalIndexResource

    portal, day, evaluator, done = _the_first_service_test_answered_otherwise(
        demo_copy, demo_copy.inbox("surveys") / "sua.xlsx"
    )
    defs = load_defs()
    resource = PortalIndexResource(home=str(demo_copy.root), mode="inbox")
    [request] = list(
        inbox_sensor(
            dg.build_sensor_context(resources={"portal_index": resource}, repository_def=defs.get_repository_def())
        )
    )
    env = {"PORTAL_INDEX_HOME": str(demo_copy.root), "DBT_TARGET_PATH": str(tmp_path / "dbt")}
    with dg.instance_for_test() as instance, __import__("unittest").mock.patch.dict("os.environ", env):
        result = defs.resolve_job_def("release_job").execute_in_process(
            instance=instance,
            asset_selection=list(request.asset_selection),
            run_config={
                **request.run_config,
                "resources": {"portal_index": {"config": {"home": str(demo_copy.root), "mode": "inbox"}}},
            },
        )
    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"survey_sheets", "staging/stg_surveys__responses", "marts/portal_scores", "release"} <= materialized
    assert not materialized & {
        "probe_results",
        "crawl_results",
        "staging/stg_probes__probes",
        "intermediate/int_measures__probes",
        "intermediate/int_measures__crawl",
    }
    with duckdb.connect(str(demo_copy.warehouse), read_only=True) as con:
        assert con.execute(
            "select completed_online from staging.stg_surveys__responses where is_current "
            "and portal_id = ? and test_date = ? and evaluator = ?",
            [portal, day, evaluator],
        ).fetchone()[0] is (not done)
    assert (demo_copy.releases / "latest").resolve().name != "1.0.0"  # the correction was published


def test_a_hostile_file_dropped_with_good_ones_is_reported_and_the_good_ones_publish(demo_copy, tmp_path):
    """A workbook claiming the whole grid, next to a good survey sheet: the good one loads and a new
    release is published, the hostile one is in the run's summary, and --strict says so by its status."""
    import zipfile

    from portal_index.parse.surveys import write_template

    with duckdb.connect(str(demo_copy.warehouse), read_only=True) as con:
        portal, day = con.execute(
            "select portal_id, max(test_date) from staging.stg_surveys__responses where test_type = 'satisfaction' "
            "group by 1 order by 1 limit 1"
        ).fetchall()[0]
    write_template(
        demo_copy.inbox("surveys") / "tot.xlsx",
        {
            "satisfaction": [
                {"portal_id": portal, "test_date": day.strftime("%d/%m/%Y"), "evaluator": "ĐGV-99", "satisfaction": 5}
            ]
        },
    )
    good = demo_copy.inbox("surveys") / "tot.xlsx"
    with zipfile.ZipFile(good) as src:
        parts = {n: src.read(n) for n in src.namelist()}
    sheet = next(n for n in parts if n.startswith("xl/worksheets/"))
    parts[sheet] = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', parts[sheet])
    with zipfile.ZipFile(demo_copy.inbox("surveys") / "bom.xlsx", "w") as dst:
        for name, data in parts.items():
            dst.writestr(name, data)
    result = cli("run", "--mode", "inbox", "--strict", home=demo_copy.root)
    assert result.returncode == 3, result.stderr[-2000:]
    assert "release: " in result.stdout and "unchanged" not in result.stdout  # the good sheet gives a new release
    assert "inputs: 1 file(s) loaded" in result.stderr and "1 rejected" in result.stderr
    assert "REJECTED surveys/bom.xlsx" in result.stderr and "A1:XFD1048576" in result.stderr
    assert "nanobind" not in result.stderr
    again = cli("run", "--mode", "inbox", home=demo_copy.root)  # the rejected file does not block a later run
    assert again.returncode == 0 and "inputs: 0 file(s) loaded" in again.stderr
