"""The demo on a cluster (`make test-cluster`): PostgreSQL (Dagster's storage), Redis (the Celery
broker), the Dagster daemon (the run queue) and two Celery workers at two vantages, all on loopback,
started here and stopped at the end. The crawl, probes, rendering, audit and release run through
the queue and the Celery executor against the simulator; the crawl's worker is killed in the middle
of its step. Compared with an in-process run of the same demo."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import duckdb
import pytest
from conftest import cli

from orchestration.local_cluster import LocalCluster
from portal_index.config import Home

pytestmark = [pytest.mark.cluster, pytest.mark.slow, pytest.mark.timeout(2400)]  # the first test waits for every run

# Longer than the longest step here (the rendering pass and dbt's build, about a minute each on two
# busy cores): a step still running is never given to a second worker; a lost one is, after this.
VISIBILITY_SECONDS = 150
QUEUES = {
    "vn-hanoi": ("warehouse", "fetch", "browser", "probe.vn-hanoi"),  # the warehouse's machine
    "abroad": ("fetch", "browser", "probe.abroad"),
}
FETCH_JOBS = ("crawl_job", "probe_job", "audit_job")


@pytest.fixture(scope="module")
def in_process(tmp_path_factory) -> Home:
    home = tmp_path_factory.mktemp("in-process")
    cli("run", "--demo", home=home, check=True)
    return Home(home)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, in_process):  # the in-process run first, on an idle machine
    cluster = LocalCluster(tmp_path_factory.mktemp("cluster"), visibility_seconds=VISIBILITY_SECONDS)
    saved = dict(os.environ)
    try:
        cluster.start_servers()
        cluster.start_daemon()
        for vantage, queues in QUEUES.items():
            cluster.start_worker(vantage, queues)
        cluster.wait_workers_ready()
        yield cluster
    finally:
        cluster.stop()
        os.environ.clear()
        os.environ.update(saved)
    for name, port in cluster.ports.items():  # every server it started is stopped
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"{name} still listens on {port}"
    for worker in cluster.workers.values():
        assert worker.process.poll() is not None, f"worker {worker.name} still runs"
    assert cluster.daemon.poll() is not None


def _wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"waited {seconds:.0f} s for {what}")


@pytest.fixture(scope="module")
def cluster_runs(cluster) -> dict:
    """Every job of the demo through the queue; the crawl's worker killed in its HTTP pass."""
    from orchestration.defs.sources.partitions import all_portals_tags, current_hour_tags
    from orchestration.submit import step_workers, wait

    runs: dict = {}
    with cluster.instance() as instance:
        crawl = cluster.launch("crawl_job", all_portals_tags())
        step = "portal_crawls.crawl_http"
        first = _wait_for(
            lambda: [w for s, w in step_workers(instance, crawl) if s == step], 300, f"a worker to start {step}"
        )[0]
        killed = first.split("@")[0]
        time.sleep(3)  # well inside the HTTP pass (tens of seconds)
        ended = [e for e in instance.all_logs(crawl) if e.dagster_event and e.dagster_event.step_key == step]
        assert not any(e.dagster_event.event_type_value == "STEP_SUCCESS" for e in ended), "the step ended too soon"
        cluster.kill_worker(killed)
        killed_at = time.monotonic()
        retried = _wait_for(
            lambda: [w for s, w in step_workers(instance, crawl) if s == step][1:],
            VISIBILITY_SECONDS + 120,
            f"{step} to start again on another worker",
        )[0]
        runs["kill"] = {"killed": first, "retried_on": retried, "after_s": time.monotonic() - killed_at}
        cluster.start_worker(killed, QUEUES[killed])  # as a service manager would restart it
        runs["crawl_job"] = wait(instance, crawl, timeout=1200)
        assert runs["crawl_job"].success, f"crawl run {crawl}: {runs['crawl_job'].status}"
        for job, tags in (("probe_job", current_hour_tags()), ("audit_job", {}), ("release_job", {})):
            runs[job] = wait(instance, cluster.launch(job, tags), timeout=1200)
            assert runs[job].success, f"{job} run {runs[job].run_id}: {runs[job].status}"
        # the command line on the cluster: `release` (validate and publish) queued, followed, reported
        runs["cli"] = cli("release", home=cluster.home.root, env=cluster.env(), check=True)
        runs["workers"] = {job: step_workers(instance, runs[job].run_id) for job in (*FETCH_JOBS, "release_job")}
        runs["steps"] = {
            job: [e.step_key for e in runs[job].all_events if e.event_type_value == "STEP_SUCCESS"]
            for job in (*FETCH_JOBS, "release_job")
        }
        runs["pids"] = {
            job: {e.pid for e in runs[job].all_events if e.event_type_value == "STEP_SUCCESS"}
            for job in (*FETCH_JOBS, "release_job")
        }
        runs["run_pids"] = {
            job: {e.pid for e in runs[job].all_events if e.event_type_value == "RUN_START"}
            for job in (*FETCH_JOBS, "release_job")
        }
    return runs


def _rows(home: Home, sql: str) -> list:
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_every_step_ran_on_a_worker_of_its_queue(cluster, cluster_runs):
    names = {v: w.name for v, w in cluster.workers.items()}
    for job, steps in cluster_runs["steps"].items():
        assert steps, f"{job} ran no step"
        ran = dict(cluster_runs["workers"][job])  # a step retried keeps its last worker
        assert set(steps) <= set(ran), f"{job}: steps not run by a Celery worker: {set(steps) - set(ran)}"
        # the run's own process (the coordinator's) ran none of them
        assert not cluster_runs["pids"][job] & cluster_runs["run_pids"][job]
    probes = dict(cluster_runs["workers"]["probe_job"])
    assert probes["portal_probes.probe_from_vn_hanoi"] == names["vn-hanoi"]
    assert probes["portal_probes.probe_from_abroad"] == names["abroad"]
    for job in (*FETCH_JOBS, "release_job"):  # the warehouse's steps, on the warehouse's worker only
        for step, worker in cluster_runs["workers"][job]:
            if step.endswith("_results") or step in ("portal_probes.probe_paths", "release"):
                assert worker == names["vn-hanoi"], f"{job}: {step} ran on {worker}"
    crawl_steps = {s for s, _ in cluster_runs["workers"]["crawl_job"]}
    rendering = {s for s in crawl_steps if s.startswith("portal_crawls.crawl_rendered[")}
    assert "portal_crawls.crawl_http" in crawl_steps and len(rendering) >= 2  # shards of the rendering pass
    rendered_on = {w for s, w in cluster_runs["workers"]["crawl_job"] if s in rendering}
    audited_on = {w for s, w in cluster_runs["workers"]["audit_job"] if s.startswith("portal_audits.audit_shard[")}
    assert rendered_on | audited_on == set(names.values())  # both browser workers took browser work


def test_a_killed_worker_loses_no_portal(cluster, cluster_runs, in_process):
    kill = cluster_runs["kill"]
    assert kill["retried_on"] != kill["killed"]
    assert kill["after_s"] <= VISIBILITY_SECONDS + 60
    crawled = _rows(cluster.home, "select distinct portal_id from raw.crawl_pages order by 1")
    assert crawled == _rows(in_process, "select distinct portal_id from raw.crawl_pages order by 1")
    assert len(crawled) > 90


def test_probes_carry_both_vantages_and_the_same_geo_blocks(cluster, in_process):
    sql = "select vantage, count(distinct portal_id) from raw.probes group by 1 order by 1"
    by_vantage = dict(_rows(cluster.home, sql))
    assert set(by_vantage) == {"vn-hanoi", "abroad"} and by_vantage["vn-hanoi"] == by_vantage["abroad"]
    blocked = "select portal_id from marts.probe_vantages where geo_block_suspected order by 1"
    assert _rows(cluster.home, blocked) == _rows(in_process, blocked) != []


def test_crawl_signals_and_the_grades_that_do_not_depend_on_timings_equal_an_in_process_run(cluster, in_process):
    signals = "select portal_id, signal_id, value, evidence_url, read_as from raw.crawl_signals order by all"
    assert _rows(cluster.home, signals) == _rows(in_process, signals)
    untimed = (  # every indicator but the probes' (availability and times are measured anew each run)
        "select methodology_version, period, portal_id, indicator_id, raw_value, score, measurement_status "
        "from marts.indicator_values where source <> 'probes' order by all"
    )
    assert _rows(cluster.home, untimed) == _rows(in_process, untimed)
    # Where the same probe indicators were measured in both runs, the other indicators contribute the
    # same, a total differs from the in-process one by the probes' contributions only, and whether it
    # is graded does not differ (where they differ, a probe not measured in one run, the others'
    # weights differ too). Every letter is its published total's band.
    sql = """
        select s.methodology_version, s.period, s.portal_id, s.grade, s.total::double,
               coalesce(sum(v.contribution) filter (where v.source = 'probes'), 0)::double,
               string_agg(v.indicator_id || ':' || v.measurement_status, ',' order by v.indicator_id)
                   filter (where v.source = 'probes'),
               list((v.indicator_id, round(v.contribution, 6)) order by v.indicator_id)
                   filter (where v.source <> 'probes')
        from marts.portal_scores as s
        left join marts.indicator_values as v using (methodology_version, period, portal_id)
        group by all order by all
    """
    here = {r[:3]: r[3:] for r in _rows(cluster.home, sql)}
    there = {r[:3]: r[3:] for r in _rows(in_process, sql)}
    assert here.keys() == there.keys()
    bands: dict = {}  # both runs read the same seed files
    for version, grade, min_total in _rows(
        in_process, "select methodology_version, grade, min_total from seeds.grade_bands order by min_total desc"
    ):
        bands.setdefault(version, []).append((grade, float(min_total)))
    not_graded = "insufficient_data"
    graded = 0
    for key, (grade, total, probes, measured, others) in here.items():
        grade_ip, total_ip, probes_ip, measured_ip, others_ip = there[key]
        if measured == measured_ip:
            assert others == others_ip and (total is None) == (total_ip is None), key
            if total is not None:
                # each published total within 0.005 of its exact value, the contributions nearly exact
                assert abs((total - probes) - (total_ip - probes_ip)) < 0.011, key
            assert (grade == not_graded) == (grade_ip == not_graded), key  # the same coverage
            if abs(probes - probes_ip) < 1e-9:
                assert grade == grade_ip, key
        if grade != not_graded:
            graded += 1
            assert grade == next(g for g, m in bands[key[0]] if total >= m), (key, total)
    assert graded > len(here) / 2  # the demo's graded portals (its unreachable ones are not)


def test_the_release_was_published_from_the_shared_working_folder(cluster):
    releases = sorted(p.name for p in Path(cluster.home.releases).iterdir() if p.is_dir() and not p.is_symlink())
    assert releases == ["1.0.0"]  # the command line's `release` found nothing new to publish
    assert (cluster.home.releases / "1.0.0" / "datapackage.json").exists()


def test_the_command_line_submits_to_the_cluster_and_reports_the_release(cluster_runs):
    done = cluster_runs["cli"]
    assert "publish_job: queued on the cluster as run" in done.stderr
    assert done.stdout.startswith("release: ") and "1.0.0" in done.stdout
