"""The Dagster code location loads, and its graph is one connected picture."""

import pytest

from portal_index.config import Home


@pytest.fixture(scope="module")
def defs():
    """Built when a test asks, by the test process that runs this file (`make test-fast` and `make
    test` give a file to one process), not at collection by every process; Dagster is imported by
    the tests, for the same reason."""
    from orchestration.definitions import defs as load_defs

    return load_defs()


def test_definitions_load_with_jobs_schedules_and_sensor(defs):
    import dagster as dg

    repo = defs.get_repository_def()
    assert {"release_job", "publish_job", "crawl_job", "probe_job", "audit_job"} <= set(repo.job_names)
    schedules = {s.name: s for s in repo.schedule_defs}
    assert {n: s.cron_schedule for n, s in schedules.items()} == {
        "probes_hourly": "0 * * * *",
        "crawls_weekly": "0 2 * * 1",
        "audits_weekly": "0 3 * * 1",
        "release_half_yearly": "0 6 1 1,7 *",
    }
    assert all(s.default_status == dg.DefaultScheduleStatus.STOPPED for s in schedules.values())
    assert [s.name for s in repo.sensor_defs] == ["inbox_sensor"]


def test_dbt_sources_are_tied_to_the_ingest_assets(defs):
    import dagster as dg

    graph = defs.get_repository_def().asset_graph
    parents = lambda key: {k.to_user_string() for k in graph.get(dg.AssetKey(key)).parent_keys}  # noqa: E731
    assert "probe_results" in parents(["staging", "stg_probes__probes"])
    assert "audit_results" in parents(["staging", "stg_audits__pages"])
    # the fetchers that visit the key pages found by the latest crawl depend on the loaded crawl
    assert "crawl_results" in parents(["portal_probes"]) and "crawl_results" in parents(["portal_audits"])
    assert "portal_audits" in parents(["audit_results"])
    assert "crawl_results" in parents(["staging", "stg_crawl__signals"])
    assert "survey_sheets" in parents(["staging", "stg_surveys__responses"])
    assert "papi_indicators" in parents(["staging", "stg_papi__scores"])
    assert {"marts/portal_scores", "marts/indicator_values"} <= parents(["release"])
    checks = {k.asset_key.to_user_string() for k in graph.asset_check_keys if k.name == "great_expectations"}
    assert checks == {
        f"marts/{t}"
        for t in (
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
        )
    }


def _sensor_context(defs, home: Home, mode: str = "demo"):
    import dagster as dg

    from orchestration.defs.resources import PortalIndexResource

    return dg.build_sensor_context(
        resources={"portal_index": PortalIndexResource(home=str(home.root), mode=mode)},
        repository_def=defs.get_repository_def(),
    )


def test_the_inbox_sensor_requests_the_loaders_and_what_depends_on_them_without_fetching(tmp_path, defs):
    import dagster as dg

    from orchestration.defs.automation.sensors import inbox_sensor

    home = Home(tmp_path).ensure()
    (home.inbox("surveys") / "khao-sat.xlsx").write_bytes(b"x")
    context = _sensor_context(defs, home)
    [request] = list(inbox_sensor(context))
    selected = {k.to_user_string() for k in request.asset_selection}
    # a survey sheet re-scores the survey measures and everything after them
    assert {
        "survey_sheets",
        "staging/stg_surveys__responses",
        "intermediate/int_measures__surveys",
        "intermediate/int_measures",
        "marts/portal_scores",
        "marts/indicator_values",
        "release",
    } <= selected
    # and nothing that does not depend on it: no fetcher, no other loader, no probe or crawl model
    assert not selected & {
        "portal_crawls",
        "portal_probes",
        "crawl_results",
        "probe_results",
        "papi_indicators",
        "portal_audits",
        "audit_results",
        "staging/stg_probes__probes",
        "intermediate/int_measures__probes",
        "staging/stg_crawl__signals",
        "intermediate/int_measures__crawl",
        "marts/papi_scores",
    }
    (home.inbox("probes") / "probes.csv").write_text("portal_id,url,probed_at\n")
    [request] = list(inbox_sensor(context))
    assert {"probe_results", "survey_sheets", "intermediate/int_measures__probes"} <= {
        k.to_user_string() for k in request.asset_selection
    }
    (home.inbox("surveys") / "khao-sat.xlsx").unlink()
    (home.inbox("probes") / "probes.csv").unlink()
    assert isinstance(next(iter(inbox_sensor(context))), dg.SkipReason)


def test_the_weekly_crawl_skips_with_a_reason_when_the_registry_has_no_active_portal(monkeypatch, defs):
    import dagster as dg

    import orchestration.defs.sources.partitions as partitions

    crawls = defs.get_repository_def().get_schedule_def("crawls_weekly")
    with dg.build_schedule_context() as context:
        request = crawls.evaluate_tick(context).run_requests[0]
    assert request.tags["dagster/asset_partition_range_start"] < request.tags["dagster/asset_partition_range_end"]
    monkeypatch.setattr(partitions, "active_portals", lambda period: [])
    with dg.build_schedule_context() as context:
        tick = crawls.evaluate_tick(context)
    assert not tick.run_requests and tick.skip_message == (
        "the portal registry has no active portal today: nothing to crawl"
    )


def test_the_dbt_resource_knows_the_version_of_the_dbt_it_runs_without_running_it():
    """`PortalIndexDbt` takes dbt's version from the installed package instead of running `dbt
    --version` for every build (which also asks PyPI for the latest version, over the internet). The
    version must be that of the dbt executable the builds run, or dagster-dbt would treat it as
    another dbt (a Fusion engine from 2.0): asked here of the executable's own interpreter."""
    import subprocess

    from orchestration.defs.resources import dbt_resource
    from portal_index.config import DBT_EXECUTABLE

    interpreter = DBT_EXECUTABLE.read_text().splitlines()[0].removeprefix("#!").strip()
    printed = subprocess.run(
        [interpreter, "-c", "from dbt.version import __version__; print(__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert str(dbt_resource()._cli_version) == printed
    # the two overrides replace dagster-dbt's own methods of these names; renamed, they would not
    from dagster_dbt import DbtCliResource

    assert {"_cli_version", "_initialize_dbt_core_adapter"} <= set(vars(DbtCliResource))
