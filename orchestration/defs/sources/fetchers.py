"""Fetcher assets: each visits the portals and lands what it got as immutable snapshots (nothing is
parsed here; the loaders in `loaders.py` do that). Built by `fetcher_assets()` because their
partitions depend on the registry and today's date.

Each fetching step carries the Celery queue of its kind of work (`orchestration.defs.cluster`): the
crawl is two steps, an HTTP pass over every portal (`fetch`, rendering off) and a rendering pass
over the portals whose pages JavaScript builds (`browser`), which crawls those again with rendering
on; probes are one step per vantage (`probe.<vantage>`) when the deployment lists its vantages,
else one step (`fetch`); the audit is a `browser` step. Steps write their snapshots into the
working folder, which every worker shares (docs/deploy.md)."""

import shutil
import uuid
from collections import Counter
from dataclasses import replace

import dagster as dg

from orchestration.defs.cluster import BROWSER, FETCH, WAREHOUSE, on_queue, probe_queue
from orchestration.defs.resources import PortalIndexResource
from portal_index.config import chromium_binary, probe_vantage, probe_vantages
from portal_index.fetch.browser import audit
from portal_index.fetch.crawler import PortalCrawl, crawl_progress, tally
from portal_index.fetch.key_urls import key_paths, key_urls
from portal_index.fetch.prober import probe_from_vantages
from portal_index.fetch.shards import crawl
from portal_index.land.snapshots import land
from portal_index.parse.fetch_results import AUDIT_RECORDS, write_probes, write_records


def shards(portals: list[str], size: int) -> list[list[str]]:
    """Browser work in shards of `size` portals, one step each, so that browser workers share it
    (`PortalIndexResource.browser_shard`); 0: one shard."""
    size = size or len(portals) or 1
    return [portals[i : i + size] for i in range(0, len(portals), size)]


def _crawl(context, portal_index: PortalIndexResource, keys: list[str] | None, render: bool, step: str):
    """Crawl `keys` (None: every partition of the run) and land one WARC per portal; the results."""
    home = portal_index.paths()
    out = home.work / f"{step}-{context.run_id[:8]}-{uuid.uuid4().hex[:8]}"  # each attempt its own
    with portal_index.targets(keys) as targets, crawl_progress(len(targets.urls)) as progress:
        limits = targets.limits if render else replace(targets.limits, render=False)
        results = crawl(targets.urls, out, limits, progress=progress, log=context.log.info)
    return home, out, results, sorted(set(keys or []) - set(targets.urls))


def _land_crawls(context, portal_index: PortalIndexResource, home, results: list[PortalCrawl]) -> None:
    for r in results:
        land(home.snapshots, "crawl", r.warc, origin=portal_index.origin("crawl", context.run_id))
        r.warc.unlink()
    for r in results:
        if r.stopped.startswith("crashed"):
            context.log.error(f"{r.portal_id}: {r.stopped}")


def _summary(results: list[PortalCrawl]) -> dict:
    return {
        "portals": len(results),
        "fetches": sum(r.fetches for r in results),
        "errors": sum(r.errors for r in results),
        "stopped": tally(results),
        "rows": [(r.portal_id, r.fetches, r.errors, r.stopped, r.seconds) for r in results],
    }


def fetcher_assets(portals: dg.PartitionsDefinition, hours: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    @dg.op(tags=on_queue(FETCH), out={"http": dg.Out(), "to_render": dg.DynamicOut()})
    def crawl_http(context: dg.OpExecutionContext, portal_index: PortalIndexResource):
        """The HTTP pass: every portal of the run, rendering off. Lands the WARC of each portal whose
        pages all hold their content; hands on the portals with app-shell pages, in shards, to the
        rendering pass."""
        keys = context.partition_keys
        home, out, results, missing = _crawl(context, portal_index, keys, render=False, step="crawl")
        landed = [r for r in results if not r.unrendered]
        _land_crawls(context, portal_index, home, landed)
        shutil.rmtree(out, ignore_errors=True)
        to_render = sorted(r.portal_id for r in results if r.unrendered)
        context.log.info(f"{len(landed)} portal(s) landed, {len(to_render)} with app-shell pages to render")
        yield dg.Output({**_summary(landed), "to_render": to_render, "no_base_url": missing, "keys": len(keys)}, "http")
        for i, shard in enumerate(shards(to_render, portal_index.browser_shard())):
            yield dg.DynamicOutput(shard, output_name="to_render", mapping_key=f"shard{i}")

    @dg.op(tags=on_queue(BROWSER))
    def crawl_rendered(context: dg.OpExecutionContext, portal_index: PortalIndexResource, portals: list) -> dict:
        """The rendering pass over a shard: the portals whose pages JavaScript builds, crawled again
        with their app-shell pages rendered in headless Chromium; their WARC replaces the HTTP pass's."""
        step = f"render-{context.get_mapping_key()}"  # shards run at once on several workers
        home, out, results, _ = _crawl(context, portal_index, portals, render=True, step=step)
        _land_crawls(context, portal_index, home, results)
        shutil.rmtree(out, ignore_errors=True)
        return _summary(results)

    @dg.op(out=dg.Out(dg.Nothing))  # the asset is the snapshots, not a value
    def crawl_landed(context: dg.OpExecutionContext, http: dict, rendered: list) -> None:
        rows = http["rows"] + [row for shard in rendered for row in shard["rows"]]
        stopped = sum((Counter(part["stopped"]) for part in [http, *rendered]), Counter())
        crashed = [row for row in rows if row[3].startswith("crashed")]
        if crashed and http["keys"] == 1:  # alone, a crashed portal fails its partition so it can be retried
            raise dg.Failure(f"crawl of {crashed[0][0]} crashed: {crashed[0][3]}")
        context.add_output_metadata(
            {
                "portals": len(rows),
                "fetches": sum(part["fetches"] for part in [http, *rendered]),
                "errors": sum(part["errors"] for part in [http, *rendered]),
                "stopped": dg.MetadataValue.json(dict(sorted(stopped.items()))),
                "rendering_pass": dg.MetadataValue.json(http["to_render"]),
                "no_base_url": dg.MetadataValue.json(http["no_base_url"]),
                "per_portal": dg.MetadataValue.md(
                    "| portal | fetches | errors | stopped | s |\n|---|---|---|---|---|\n"
                    + "\n".join(f"| {p} | {f} | {e} | {st} | {sec} |" for p, f, e, st, sec in sorted(rows))
                ),
            }
        )

    @dg.graph_asset(
        group_name="sources",
        kinds={"python", "warc"},
        partitions_def=portals,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def portal_crawls():
        """One polite crawl per portal, archived as a WARC snapshot (partitioned by portal; a backfill
        of many portals runs them together in one run, and one portal can be crawled again alone):
        an HTTP pass, then a rendering pass over the portals whose pages JavaScript builds."""
        http, to_render = crawl_http()
        return crawl_landed(http, to_render.map(crawl_rendered).collect())

    @dg.op(tags=on_queue(WAREHOUSE), ins={"start": dg.In(dg.Nothing)})
    def probe_paths(context: dg.OpExecutionContext, portal_index: PortalIndexResource) -> dict:
        """The key pages besides the home page, from the latest loaded crawl (read where the
        warehouse is; the probe steps get them as their input)."""
        return key_paths(portal_index.paths().warehouse)

    def probe_op(vantage: str | None) -> dg.OpDefinition:
        """A step measuring every key page from `vantage` on its own queue (None: from the vantages
        of the run's mode, wherever the step runs)."""

        @dg.op(
            name=f"probe_from_{vantage.replace('-', '_')}" if vantage else "probe_here",
            tags=on_queue(probe_queue(vantage) if vantage else FETCH),
        )
        def probe(context: dg.OpExecutionContext, portal_index: PortalIndexResource, paths: dict) -> dict:
            home = portal_index.paths()
            with portal_index.targets() as targets:
                vantages = targets.vantages if vantage is None else (_vantage_here(portal_index, targets, vantage),)
                pages = key_urls(targets.urls, paths)
                rows = probe_from_vantages(
                    pages,
                    vantages,
                    rounds=portal_index.probe_rounds,
                    guard=targets.limits.guard,
                    site_of=targets.site_of,
                    log=context.log.info,
                )
            hour = context.partition_key
            out = home.work / f"probes-{hour.replace(':', '')}-{vantage or 'here'}-{uuid.uuid4().hex[:12]}.csv"
            write_probes(out, rows)
            land(home.snapshots, "probes", out, origin=portal_index.origin("probes", context.run_id, f"hour {hour}"))
            out.unlink()
            return {"probes": len(rows), "errors": [r["error"] for r in rows if r.get("error")]}

        return probe

    vantages = probe_vantages()
    probe_steps = [probe_op(v) for v in vantages] if vantages else [probe_op(None)]

    @dg.op(tags=on_queue(WAREHOUSE), out=dg.Out(dg.Nothing))
    def probes_landed(context: dg.OpExecutionContext, landed: list[dict]) -> None:
        failed = [e for step in landed for e in step["errors"]]
        context.add_output_metadata(
            {
                "probes": sum(step["probes"] for step in landed),
                "failed": len(failed),
                "errors": dg.MetadataValue.json(dict(sorted(Counter(failed).items()))),
                "vantages": dg.MetadataValue.json(list(vantages) or "where the step ran"),
            }
        )

    @dg.graph_asset(
        group_name="sources",
        kinds={"python"},
        partitions_def=hours,
        ins={"crawl_results": dg.AssetIn(dagster_type=dg.Nothing)},
    )
    def portal_probes(crawl_results):
        """Timed probes of every active portal's key pages in one hour (partitioned by hour; each
        hour's probes are appended as snapshots, one per vantage step). The key pages besides the
        home page come from the latest loaded crawl."""
        paths = probe_paths(start=crawl_results)
        return probes_landed([step(paths) for step in probe_steps])

    @dg.op(tags=on_queue(WAREHOUSE), ins={"start": dg.In(dg.Nothing)}, out=dg.DynamicOut())
    def audit_plan(context: dg.OpExecutionContext, portal_index: PortalIndexResource):
        """The portals to audit and their key pages (from the latest loaded crawl), in shards."""
        if portal_index.mode == "inbox":
            context.log.info("inbox mode fetches nothing: no audit")
            return
        chosen = portal_index.audited_portals()
        paths = key_paths(portal_index.paths().warehouse)
        for i, shard in enumerate(shards(chosen, portal_index.browser_shard())):
            yield dg.DynamicOutput({p: paths.get(p, {}) for p in shard}, mapping_key=f"shard{i}")

    @dg.op(tags=on_queue(BROWSER))
    def audit_shard(context: dg.OpExecutionContext, portal_index: PortalIndexResource, paths: dict) -> dict:
        """A shard's key pages audited in headless Chromium, landed as a snapshot."""
        home = portal_index.paths()
        chromium = chromium_binary()
        if chromium is None:
            context.log.warning(
                "no Chromium found (install Debian's chromium: `make chromium`): no browser audit "
                "in this step; A01 uses the crawl's accessibility checks"
            )
            return {"pages": 0, "skipped": "no Chromium"}
        with portal_index.targets(sorted(paths)) as targets:
            pages = key_urls(targets.urls, paths)
            tables = audit(
                [(pid, url) for pid, _, url in pages],
                chromium,
                page_seconds=portal_index.audit_page_seconds,
                guard=targets.limits.guard,
                log=context.log.info,
            )
        out = home.work / f"audits-{context.run_id[:8]}-{context.get_mapping_key()}-{uuid.uuid4().hex[:8]}.jsonl"
        write_records(out, AUDIT_RECORDS, tables)
        land(home.snapshots, "audits", out, origin=portal_index.origin("audits", context.run_id))
        out.unlink()
        return {"pages": len(pages)}

    @dg.op(out=dg.Out(dg.Nothing))
    def audits_landed(context: dg.OpExecutionContext, audited: list) -> None:
        skipped = sorted({a["skipped"] for a in audited if a.get("skipped")})
        context.add_output_metadata(
            {"pages": sum(a["pages"] for a in audited), "steps": len(audited)}
            | ({"skipped": ", ".join(skipped)} if skipped else {})
        )

    @dg.graph_asset(
        group_name="sources", kinds={"python", "chromium"}, ins={"crawl_results": dg.AssetIn(dagster_type=dg.Nothing)}
    )
    def portal_audits(crawl_results):
        """Key pages (home, search) audited in headless Chromium with axe-core (WCAG 2.1 A/AA), with LCP
        and CLS, landed as snapshots (one per shard of portals). Without Chromium nothing is audited and
        A01 keeps the crawl's checks."""
        return audits_landed(audit_plan(start=crawl_results).map(audit_shard).collect())

    return [portal_crawls, portal_probes, portal_audits]


def _vantage_here(portal_index: PortalIndexResource, targets, vantage: str) -> tuple[str, str | None]:
    """(vantage, source address) for a step of `vantage`'s queue. In the demo a vantage is emulated
    by a loopback source address, so any worker can measure it unless it says it stands elsewhere;
    live, the worker must stand at that vantage (`PORTAL_INDEX_VANTAGE`), or its probes would be
    labelled with a place they were not measured from."""
    here = probe_vantage()
    emulated = dict(targets.vantages) if portal_index.mode == "demo" else {}
    if here == vantage or (vantage in emulated and here == "local"):
        return vantage, emulated.get(vantage)
    raise dg.Failure(
        f"this worker stands at vantage {here!r} (PORTAL_INDEX_VANTAGE) but took a probe step of "
        f"{vantage!r}: queue {probe_queue(vantage)} must be consumed only by workers at {vantage}"
    )
