"""The Dagster code location loads, and its graph is one connected picture."""

import dagster as dg

from orchestration.definitions import defs
from orchestration.sensors import inbox_sensor
from portal_index.config import Home


def test_definitions_load_with_jobs_schedules_and_sensor():
    repo = defs.get_repository_def()
    assert {"pipeline_job", "release_job", "publish_job", "crawl_job", "probe_job", "audit_job",
            "ingest_job"} <= set(repo.job_names)
    schedules = {s.name: s for s in repo.schedule_defs}
    assert {"probes_hourly": "0 * * * *", "crawls_weekly": "0 2 * * 1", "audits_weekly": "0 3 * * 1",
            "release_half_yearly": "0 6 1 1,7 *"} == {
        n: s.cron_schedule for n, s in schedules.items()}
    assert all(s.default_status == dg.DefaultScheduleStatus.STOPPED for s in schedules.values())
    assert [s.name for s in repo.sensor_defs] == ["inbox_sensor"]


def test_dbt_sources_are_tied_to_the_ingest_assets():
    graph = defs.get_repository_def().asset_graph
    parents = lambda key: {k.to_user_string() for k in graph.get(dg.AssetKey(key)).parent_keys}  # noqa: E731
    assert "probe_results" in parents(["staging", "stg_probes__probes"])
    assert "accessibility_audits" in parents(["staging", "stg_audits__pages"])
    assert "crawl_results" in parents(["staging", "stg_crawl__signals"])
    assert "survey_sheets" in parents(["staging", "stg_surveys__responses"])
    assert "papi_indicators" in parents(["staging", "stg_papi__scores"])
    assert {"marts/portal_scores", "marts/indicator_values"} <= parents(["release"])
    checks = {k.asset_key.to_user_string() for k in graph.asset_check_keys if k.name == "great_expectations"}
    assert checks == {f"marts/{t}" for t in ("portal_scores", "indicator_values", "papi_scores", "indicators",
                                             "portals", "provinces", "ministries")}


def test_the_inbox_sensor_requests_ingestion_without_fetching(tmp_path):
    home = Home(tmp_path).ensure()
    (home.inbox("surveys") / "khao-sat.xlsx").write_bytes(b"x")
    (home.inbox("probes") / "probes.csv").write_text("portal_id,url,probed_at\n")
    from orchestration.resources import PortalIndexResource
    context = dg.build_sensor_context(resources={"portal_index": PortalIndexResource(home=str(tmp_path))})
    requests = list(inbox_sensor(context))
    assert len(requests) == 1
    request = requests[0]
    assert sorted(k.to_user_string() for k in request.asset_selection) == ["probe_results", "survey_sheets"]
    assert request.run_config.get("ops", {}) == {}  # the loaders fetch nothing; only the audit has a fetch switch
    (home.inbox("surveys") / "khao-sat.xlsx").unlink()
    (home.inbox("probes") / "probes.csv").unlink()
    assert isinstance(next(iter(inbox_sensor(context))), dg.SkipReason)


def test_a_file_dropped_in_the_inbox_is_ingested_by_the_run_the_sensor_requests(tmp_path):
    import sys
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    from papi_workbooks import wide_workbook

    import duckdb
    from orchestration.resources import PortalIndexResource

    home = Home(tmp_path).ensure()
    wide_workbook(home.inbox("papi") / "2024PAPI_ProvincialIndicators_34_TinhThanh.xlsx",
                  {2024: {"variants": True, "metadata_rows": True, "separators": True}})
    resource = PortalIndexResource(home=str(tmp_path), mode="inbox")
    [request] = list(inbox_sensor(dg.build_sensor_context(resources={"portal_index": resource})))
    job = defs.resolve_job_def("ingest_job")
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(instance=instance, asset_selection=list(request.asset_selection),
                                        run_config={**request.run_config,
                                                    "resources": {"portal_index": {"config": {"home": str(tmp_path),
                                                                                              "mode": "inbox"}}}})
    assert result.success
    materialized = [e.asset_key.to_user_string() for e in result.get_asset_materialization_events()]
    assert materialized == ["papi_indicators"]
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        assert con.execute("select count(*), count(distinct province_code), min(source_year) from raw.papi_scores "
                           "where dimension = 8").fetchone() == (63, 63, 2024)
    assert not any(home.inbox("papi").iterdir())
