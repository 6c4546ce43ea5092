"""Where each step runs on a cluster (docs/deploy.md): queues, vantages, shards, the executor."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from portal_index import config
from portal_index.config import CLUSTER_VARIABLES, REPO_ROOT, child_env

CONFIGURATIONS = {
    "default": {},
    "cluster": {
        "PORTAL_INDEX_EXECUTOR": "celery",
        "PORTAL_INDEX_CELERY_BROKER": "redis://127.0.0.1:1/0",  # never connected to while building
        "PORTAL_INDEX_PROBE_VANTAGES": "vn-hanoi,abroad",
    },
}


def _steps(configurations: dict[str, dict[str, str]]) -> dict:
    """{configuration: {job: {step: queue}} and the jobs' executor}, from definitions built in one child
    process (Dagster and dbt imported once), each with its configuration's variables and no other
    cluster variable."""
    code = """
import json, os, sys
from orchestration.definitions import defs
configurations, cluster_variables = json.loads(sys.stdin.read())
result = {}
for label, env in configurations.items():
    for name in cluster_variables:
        os.environ.pop(name, None)
    os.environ.update(env)
    d = defs()
    out = result[label] = {}
    for name in ("crawl_job", "probe_job", "audit_job", "release_job"):
        job = d.resolve_job_def(name)
        nodes = {}
        def walk(graph, prefix=""):
            for node in graph.nodes:
                if hasattr(node.definition, "graph_def") or node.definition.__class__.__name__ == "GraphDefinition":
                    walk(node.definition, prefix + node.name + ".")
                else:
                    nodes[prefix + node.name] = node.definition.tags.get("dagster-celery/queue", "(default)")
        walk(job.graph)
        out[name] = {"steps": nodes, "executor": job.executor_def.name, "tags": dict(job.tags)}
print(json.dumps(result))
"""
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=child_env(drop=CLUSTER_VARIABLES),
        input=json.dumps([configurations, list(CLUSTER_VARIABLES)]),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def built():
    return _steps(CONFIGURATIONS)


@pytest.fixture
def on_cluster(built):
    return built["cluster"]


def test_each_step_goes_to_the_queue_of_its_kind_of_work(on_cluster):
    assert on_cluster["crawl_job"]["steps"] == {
        "portal_crawls.crawl_http": "fetch",
        "portal_crawls.crawl_rendered": "browser",
        "portal_crawls.crawl_landed": "(default)",
        "crawl_results": "(default)",
    }
    assert on_cluster["probe_job"]["steps"] == {
        "portal_probes.probe_paths": "warehouse",
        "portal_probes.probe_from_vn_hanoi": "probe.vn-hanoi",
        "portal_probes.probe_from_abroad": "probe.abroad",
        "portal_probes.probes_landed": "warehouse",
        "probe_results": "(default)",
    }
    assert on_cluster["audit_job"]["steps"]["portal_audits.audit_shard"] == "browser"
    assert on_cluster["audit_job"]["steps"]["portal_audits.audit_plan"] == "warehouse"
    # the warehouse's steps have no queue tag: Celery's default queue here is `warehouse`
    assert set(on_cluster["release_job"]["steps"].values()) == {"(default)"}
    assert all(job["executor"] == "celery_executor" for job in on_cluster.values())
    assert on_cluster["crawl_job"]["tags"]["portal-index/fetch"] == "crawl"
    assert on_cluster["release_job"]["tags"]["portal-index/warehouse"] == "write"


def test_the_default_is_one_probe_step_and_dagsters_own_executor(built):
    here = built["default"]
    assert here["probe_job"]["steps"]["portal_probes.probe_here"] == "fetch"
    assert not any("probe_from_" in step for step in here["probe_job"]["steps"])
    assert all(job["executor"] != "celery_executor" for job in here.values())


def test_the_default_celery_queue_is_the_warehouses_and_lost_steps_come_back(monkeypatch):
    from orchestration.defs.cluster import celery_config

    monkeypatch.setenv("PORTAL_INDEX_CELERY_BROKER", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("PORTAL_INDEX_CELERY_VISIBILITY_SECONDS", "600")
    settings = celery_config()
    assert settings["broker"] == settings["backend"] == "redis://127.0.0.1:6379/0"
    source = settings["config_source"]
    assert source["task_default_queue"] == "warehouse"
    assert source["task_acks_late"] and source["task_reject_on_worker_lost"]
    assert source["broker_transport_options"]["visibility_timeout"] == 600
    monkeypatch.delenv("PORTAL_INDEX_CELERY_BROKER")
    with pytest.raises(ValueError, match="PORTAL_INDEX_CELERY_BROKER"):
        celery_config()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("", ()), ("vn-hanoi, Abroad", ("vn-hanoi", "abroad")), ("vn-hcm", ("vn-hcm",))],
)
def test_probe_vantages_are_read_as_codes(monkeypatch, raw, expected):
    monkeypatch.setenv("PORTAL_INDEX_PROBE_VANTAGES", raw)
    assert config.probe_vantages() == expected


@pytest.mark.parametrize("raw", ["vn hanoi", "vn-hanoi,vn-hanoi", "hà-nội"])
def test_a_wrong_vantage_list_is_refused_with_its_value(monkeypatch, raw):
    monkeypatch.setenv("PORTAL_INDEX_PROBE_VANTAGES", raw)
    with pytest.raises(ValueError, match="PORTAL_INDEX_PROBE_VANTAGES"):
        config.probe_vantages()


def test_executor_and_shard_settings_are_checked(monkeypatch):
    monkeypatch.setenv("PORTAL_INDEX_EXECUTOR", "multiprocess")
    with pytest.raises(ValueError, match="in_process or celery"):
        config.executor()
    monkeypatch.setenv("PORTAL_INDEX_BROWSER_SHARD", "four")
    with pytest.raises(ValueError, match="PORTAL_INDEX_BROWSER_SHARD"):
        config.browser_shard_portals()


def test_pages_rendered_at_once_are_two_per_cpu_or_the_setting(monkeypatch):
    from portal_index.fetch.crawler import CrawlLimits

    monkeypatch.delenv("PORTAL_INDEX_RENDER_CONCURRENCY", raising=False)
    assert CrawlLimits().render_concurrency == 2 * config.usable_cpus()
    monkeypatch.setenv("PORTAL_INDEX_RENDER_CONCURRENCY", "3")
    assert CrawlLimits().render_concurrency == 3
    for raw in ("0", "-2", "eight"):
        monkeypatch.setenv("PORTAL_INDEX_RENDER_CONCURRENCY", raw)
        with pytest.raises(ValueError, match="PORTAL_INDEX_RENDER_CONCURRENCY"):
            CrawlLimits()


def test_shards_cover_every_portal_once_in_order():
    from orchestration.defs.sources.fetchers import shards

    portals = [f"p{i:02d}" for i in range(10)]
    assert shards(portals, 4) == [portals[0:4], portals[4:8], portals[8:10]]
    assert shards(portals, 0) == [portals]
    assert shards([], 3) == [] and shards([], 0) == []


class _Resource:
    def __init__(self, mode):
        self.mode = mode


class _Targets:
    vantages = (("vn-hanoi", None), ("abroad", "127.0.0.2"))


def test_a_probe_step_runs_only_where_its_vantage_is(monkeypatch):
    import dagster as dg

    from orchestration.defs.sources.fetchers import _vantage_here

    monkeypatch.setenv("PORTAL_INDEX_VANTAGE", "abroad")
    assert _vantage_here(_Resource("live"), _Targets(), "abroad") == ("abroad", None)
    assert _vantage_here(_Resource("demo"), _Targets(), "abroad") == ("abroad", "127.0.0.2")
    with pytest.raises(dg.Failure, match="stands at vantage 'abroad'.*probe.vn-hanoi"):
        _vantage_here(_Resource("demo"), _Targets(), "vn-hanoi")
    monkeypatch.delenv("PORTAL_INDEX_VANTAGE")  # a worker that does not say where it stands
    assert _vantage_here(_Resource("demo"), _Targets(), "abroad") == ("abroad", "127.0.0.2")  # emulated
    with pytest.raises(dg.Failure, match="stands at vantage 'local'"):
        _vantage_here(_Resource("live"), _Targets(), "abroad")  # live: it would be mislabelled
