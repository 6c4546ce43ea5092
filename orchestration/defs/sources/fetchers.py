"""Fetcher assets: each visits the portals and lands what it got as immutable snapshots (nothing is
parsed here; the loaders in `loaders.py` do that). Built by `fetcher_assets()` because their
partitions depend on the registry and today's date."""

import shutil
from collections import Counter

import dagster as dg

from orchestration.defs.resources import PortalIndexResource
from portal_index.config import chromium_binary
from portal_index.fetch.browser import audit
from portal_index.fetch.crawler import crawl, crawl_progress, tally
from portal_index.fetch.key_urls import key_paths, key_urls
from portal_index.fetch.prober import probe_all
from portal_index.land.snapshots import land
from portal_index.parse.fetch_results import AUDIT_RECORDS, write_probes, write_records


def fetcher_assets(portals: dg.PartitionsDefinition, hours: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    @dg.asset(
        group_name="sources",
        kinds={"python", "warc"},
        partitions_def=portals,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def portal_crawls(context: dg.AssetExecutionContext, portal_index: PortalIndexResource) -> dg.MaterializeResult:
        """One polite crawl per portal, archived as a WARC snapshot (partitioned by portal; a backfill
        of many portals runs them together in one run, and one portal can be crawled again alone)."""
        home = portal_index.paths()
        keys = context.partition_keys
        out = home.work / f"crawl-{context.run_id[:8]}"
        with portal_index.targets(keys) as targets, crawl_progress(len(targets.urls)) as progress:
            results = crawl(targets.urls, out, targets.limits, progress=progress, log=context.log.info)
        for r in results:
            land(home.snapshots, "crawl", r.warc, origin=portal_index.origin("crawl", context.run_id))
            r.warc.unlink()
        shutil.rmtree(out, ignore_errors=True)
        crashed = [r for r in results if r.stopped.startswith("crashed")]
        for r in crashed:
            context.log.error(f"{r.portal_id}: {r.stopped}")
        if crashed and len(keys) == 1:  # alone, a crashed portal fails its partition so it can be retried
            raise dg.Failure(f"crawl of {keys[0]} crashed: {crashed[0].stopped}")
        missing = sorted(set(keys) - set(targets.urls))
        return dg.MaterializeResult(
            metadata={
                "portals": len(results),
                "fetches": sum(r.fetches for r in results),
                "errors": sum(r.errors for r in results),
                "stopped": dg.MetadataValue.json(tally(results)),
                "no_base_url": dg.MetadataValue.json(missing),
                "per_portal": dg.MetadataValue.md(
                    "| portal | fetches | errors | stopped | s |\n|---|---|---|---|---|\n"
                    + "\n".join(
                        f"| {r.portal_id} | {r.fetches} | {r.errors} | {r.stopped} | {r.seconds} |" for r in results
                    )
                ),
            }
        )

    @dg.asset(group_name="sources", kinds={"python"}, partitions_def=hours, deps=["crawl_results"])
    def portal_probes(context: dg.AssetExecutionContext, portal_index: PortalIndexResource) -> dg.MaterializeResult:
        """Timed probes of every active portal's key pages in one hour (partitioned by hour; each
        hour's probes are appended as their own snapshot). The key pages besides the home page come
        from the latest loaded crawl."""
        home = portal_index.paths()
        with portal_index.targets() as targets:
            pages = key_urls(targets.urls, key_paths(home.warehouse))
            rows = [
                row
                for vantage, source_address in targets.vantages
                for row in probe_all(
                    pages,
                    rounds=portal_index.probe_rounds,
                    guard=targets.limits.guard,
                    site_of=targets.site_of,
                    log=context.log.info,
                    vantage=vantage,
                    source_address=source_address,
                )
            ]
        out = home.work / f"probes-{context.partition_key.replace(':', '')}-{context.run_id[:8]}.csv"
        write_probes(out, rows)
        land(
            home.snapshots,
            "probes",
            out,
            origin=portal_index.origin("probes", context.run_id, f"hour {context.partition_key}"),
        )
        out.unlink()
        failed = [r for r in rows if r.get("error")]
        return dg.MaterializeResult(
            metadata={
                "probes": len(rows),
                "failed": len(failed),
                "errors": dg.MetadataValue.json(dict(sorted(Counter(r["error"] for r in failed).items()))),
            }
        )

    @dg.asset(group_name="sources", kinds={"python", "chromium"}, deps=["crawl_results"])
    def portal_audits(context: dg.AssetExecutionContext, portal_index: PortalIndexResource) -> dg.MaterializeResult:
        """Key pages (home, search) audited in headless Chromium with axe-core (WCAG 2.1 A/AA), with LCP
        and CLS, landed as a snapshot. Without Chromium nothing is audited and A01 keeps the crawl's
        checks."""
        home = portal_index.paths()
        chromium = chromium_binary()
        if portal_index.mode == "inbox":
            return dg.MaterializeResult(metadata={"pages": 0, "skipped": "inbox mode fetches nothing"})
        if chromium is None:
            context.log.warning(
                "no Chromium found (install Debian's chromium: `make chromium`): no browser audit "
                "in this run; A01 uses the crawl's accessibility checks"
            )
            return dg.MaterializeResult(metadata={"pages": 0, "skipped": "no Chromium"})
        with portal_index.targets() as targets:
            bases = sorted(targets.urls.items())
            chosen = dict(bases[: targets.audit_limit] if targets.audit_limit else bases)
            pages = key_urls(chosen, key_paths(home.warehouse))
            tables = audit(
                [(pid, url) for pid, _, url in pages],
                chromium,
                page_seconds=portal_index.audit_page_seconds,
                guard=targets.limits.guard,
                log=context.log.info,
            )
        out = home.work / f"audits-{context.run_id[:8]}.jsonl"
        write_records(out, AUDIT_RECORDS, tables)
        land(home.snapshots, "audits", out, origin=portal_index.origin("audits", context.run_id))
        out.unlink()
        return dg.MaterializeResult(metadata={"pages": len(pages)})

    return [portal_crawls, portal_probes, portal_audits]
