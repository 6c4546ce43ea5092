"""`make bench-cluster`: browser work on the cluster, pages per minute with one and with two workers.

For each number of browser workers, a fresh cluster on loopback (orchestration/local_cluster.py:
PostgreSQL, Redis, the daemon), one worker for the `warehouse` and `fetch` queues and N workers for
the `browser` queue, then, through the run queue:

- the demo's crawl, whose rendering pass is one step per app-shell portal (shards of 1);
- an audit of `--audit-portals` portals, `--shard` portals per step.

From the runs' event logs: the span from the first browser step's start to the last one's end, and
the pages done in it (pages rendered: `raw.crawl_pages` read as `rendered`; pages audited:
`raw.a11y_audits`). Printed: pages per minute of each kind, browser steps and their mean duration.

    python -m benchmarks.bench_cluster [--workers 1 2] [--audit-portals 24] [--shard 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

from orchestration.local_cluster import LocalCluster


def browser_span(instance, run_id: str, prefix: str) -> tuple[float, list[float]]:
    """(seconds from the first start to the last success of the steps starting with `prefix`, their durations)."""
    starts, ends = {}, {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or not (event.step_key or "").startswith(prefix):
            continue
        if event.event_type_value == "STEP_START":
            starts[event.step_key] = entry.timestamp
        elif event.event_type_value == "STEP_SUCCESS":
            ends[event.step_key] = entry.timestamp
    if not ends:
        return 0.0, []
    return max(ends.values()) - min(starts.values()), [ends[k] - starts[k] for k in ends]


def one(workers: int, audit_portals: int, shard: int, root: Path) -> dict:
    from orchestration.defs.sources.partitions import all_portals_tags
    from orchestration.submit import wait

    cluster = LocalCluster(root, browser_shard=1)
    try:
        cluster.start_servers()
        cluster.start_daemon()
        cluster.start_worker("vn-hanoi", ("warehouse", "fetch", "probe.vn-hanoi"))
        for i in range(workers):
            cluster.start_worker(f"browser{i + 1}", ("browser",))
        cluster.wait_workers_ready()
        with cluster.instance() as instance:
            crawl = wait(instance, cluster.launch("crawl_job", all_portals_tags()), timeout=1800)
            assert crawl.success, crawl.status
            render_s, render_steps = browser_span(instance, crawl.run_id, "portal_crawls.crawl_rendered")
            audit_run = cluster.launch("audit_job", {}, audit_max_portals=audit_portals, browser_shard_portals=shard)
            audit = wait(instance, audit_run, timeout=1800)
            assert audit.success, audit.status
            audit_s, audit_steps = browser_span(instance, audit.run_id, "portal_audits.audit_shard")
        with duckdb.connect(str(cluster.home.warehouse), read_only=True) as con:
            rendered = con.execute("select count(*) from raw.crawl_pages where read_as = 'rendered'").fetchall()[0][0]
            audited = con.execute("select count(*) from raw.a11y_audits").fetchall()[0][0]
    finally:
        cluster.stop()
    return {
        "workers": workers,
        "rendered": rendered,
        "render_s": render_s,
        "render_steps": render_steps,
        "audited": audited,
        "audit_s": audit_s,
        "audit_steps": audit_steps,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--audit-portals", type=int, default=24)
    parser.add_argument("--shard", type=int, default=2, help="portals per audit step")
    args = parser.parse_args(argv)
    print(
        f"{'workers':>7} {'rendered':>8} {'render s':>8} {'pages/min':>9} {'steps':>5} {'mean s':>6} "
        f"{'audited':>7} {'audit s':>7} {'pages/min':>9} {'steps':>5} {'mean s':>6}"
    )
    for n in args.workers:
        with tempfile.TemporaryDirectory(prefix=f"bench-cluster-{n}-") as tmp:
            started = time.monotonic()
            r = one(n, args.audit_portals, args.shard, Path(tmp))
        print(
            f"{r['workers']:>7} {r['rendered']:>8} {r['render_s']:>8.1f} {60 * r['rendered'] / r['render_s']:>9.1f} "
            f"{len(r['render_steps']):>5} {statistics.mean(r['render_steps']):>6.1f} "
            f"{r['audited']:>7} {r['audit_s']:>7.1f} {60 * r['audited'] / r['audit_s']:>9.1f} "
            f"{len(r['audit_steps']):>5} {statistics.mean(r['audit_steps']):>6.1f}"
            f"   ({time.monotonic() - started:.0f} s in all)",
            flush=True,
        )


if __name__ == "__main__":
    main()
