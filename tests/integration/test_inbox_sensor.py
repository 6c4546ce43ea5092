"""The inbox sensor's run for one survey file dropped in a copy of the demo's inbox rebuilds only
what depends on it (the inbox's whole day: test_inbox_runs.py)."""

import duckdb
import pytest
from test_inbox_runs import _the_first_service_test_answered_otherwise

pytestmark = pytest.mark.slow  # runs the release job


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
    # the copy's own build folder, as `Home.export` sets it: its kept parse spares dbt a whole parse
    env = {"PORTAL_INDEX_HOME": str(demo_copy.root), "DBT_TARGET_PATH": str(demo_copy.work / "dbt")}
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
