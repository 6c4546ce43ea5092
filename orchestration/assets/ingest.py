"""The sources: the fetchers (crawls per portal, probes per hour, the browser audit) and the inbox
files land immutable snapshots; the loaders parse them into the raw tables."""


import contextlib
import shutil
from collections import Counter
from datetime import date
from urllib.parse import urlsplit

import dagster as dg

from orchestration.resources import PortalIndexResource
from portal_index import __version__
from portal_index.a11y_audit import audit, find_chromium
from portal_index.crawler import crawl, crawl_progress, tally
from portal_index.demo import seed_papi, seed_surveys
from portal_index.ingest import ingest_source
from portal_index.key_urls import key_paths, key_urls
from portal_index.prober import probe_all
from portal_index.registry import active_portals, period_of
from portal_index.results_files import AUDIT_RECORDS, write_probes, write_records
from portal_index.simulator import Simulator
from portal_index.snapshots import land
from portal_index.warehouse import LoadReport


TZ = "Asia/Ho_Chi_Minh"


class FetchConfig(dg.Config):
    fetch: bool = True
    """Audit the portals before loading; false only loads files dropped in the inbox."""


def _report(context: dg.AssetExecutionContext, report: LoadReport) -> dg.MaterializeResult:
    for snapshot, problems in report.rejected:
        context.log.warning(f"rejected {snapshot.original_name} ({snapshot.sha256[:12]}): "
                            + "; ".join(str(p) for p in problems[:20]))
    return dg.MaterializeResult(metadata={
        "files_accepted": len(report.accepted),
        "rows_loaded": report.rows,
        "files_rejected": len(report.rejected),
        "rejections": dg.MetadataValue.md("\n".join(
            f"- **{s.original_name}**: " + "; ".join(str(p) for p in ps[:10]) for s, ps in report.rejected) or "none"),
    })


def _targets(sim: Simulator | None, only: list[str] | None = None) -> dict[str, str]:
    """{portal_id: URL} of the portals active today: on the simulator in demo mode, else the real ones."""
    portals = [p for p in active_portals(period_of(date.today())) if only is None or p["portal_id"] in only]
    if sim is not None:
        return {p["portal_id"]: sim.url_for(p["portal_id"]) for p in portals}
    return {p["portal_id"]: p["base_url"] for p in portals if p["base_url"]}


DEMO_AUDITS = 12  # the demo audits a dozen portals in the browser; the others show the crawl fallback for A01
PORTALS = dg.StaticPartitionsDefinition(sorted(p["portal_id"] for p in active_portals(period_of(date.today()))))


@dg.asset(group_name="sources", kinds={"python", "warc"}, partitions_def=PORTALS,
          backfill_policy=dg.BackfillPolicy.single_run())
def portal_crawls(context: dg.AssetExecutionContext, portal_index: PortalIndexResource) -> dg.MaterializeResult:
    """One polite crawl per portal, archived as a WARC snapshot (partitioned by portal; a backfill of
    many portals runs them together in one run, and one portal can be crawled again alone)."""
    home = portal_index.paths()
    keys = context.partition_keys
    out = home.work / f"crawl-{context.run_id[:8]}"
    with (Simulator() if portal_index.mode == "demo" else contextlib.nullcontext()) as sim:
        targets = _targets(sim, keys)
        limits = portal_index.crawl_limits(sim.port if sim else None)
        with crawl_progress(len(targets)) as progress:
            results = crawl(targets, out, limits, progress=progress, log=context.log.info)
    for r in results:
        land(home.snapshots, "crawl", r.warc,
             origin=f"portal-index {__version__} crawl ({portal_index.mode}) run {context.run_id}")
        r.warc.unlink()
    shutil.rmtree(out, ignore_errors=True)
    crashed = [r for r in results if r.stopped.startswith("crashed")]
    for r in crashed:
        context.log.error(f"{r.portal_id}: {r.stopped}")
    if crashed and len(keys) == 1:  # alone, a crashed portal fails its partition so it can be retried
        raise dg.Failure(f"crawl of {keys[0]} crashed: {crashed[0].stopped}")
    missing = sorted(set(keys) - set(targets))
    return dg.MaterializeResult(metadata={
        "portals": len(results), "fetches": sum(r.fetches for r in results),
        "errors": sum(r.errors for r in results), "stopped": dg.MetadataValue.json(tally(results)),
        "no_base_url": dg.MetadataValue.json(missing),
        "per_portal": dg.MetadataValue.md("| portal | fetches | errors | stopped | s |\n|---|---|---|---|---|\n" + "\n".join(
            f"| {r.portal_id} | {r.fetches} | {r.errors} | {r.stopped} | {r.seconds} |" for r in results)),
    })


@dg.asset(group_name="sources", kinds={"python", "duckdb"}, deps=[portal_crawls])
def crawl_results(context: dg.AssetExecutionContext, portal_index: PortalIndexResource) -> dg.MaterializeResult:
    """Pages and signals extracted from every crawl snapshot not loaded yet (our WARC files, and
    crawl files dropped in the inbox)."""
    return _report(context, ingest_source(portal_index.paths(), "crawl"))


HOURS = dg.HourlyPartitionsDefinition(start_date="2025-01-01-00:00", timezone=TZ, end_offset=1)


@dg.asset(group_name="sources", kinds={"python"}, partitions_def=HOURS)
def portal_probes(context: dg.AssetExecutionContext, portal_index: PortalIndexResource) -> dg.MaterializeResult:
    """Timed probes of every active portal in one hour (partitioned by hour; each hour's probes are
    appended as their own snapshot)."""
    home = portal_index.paths()
    with (Simulator() if portal_index.mode == "demo" else contextlib.nullcontext()) as sim:
        guard = portal_index.crawl_limits(sim.port if sim else None).guard
        by_portal = (lambda portal_id, url: portal_id) if sim else (lambda portal_id, url: urlsplit(url).netloc)
        targets = key_urls(_targets(sim), key_paths(home.warehouse))  # home pages, and search pages the crawl found
        rows = probe_all(targets, rounds=portal_index.probe_rounds, guard=guard, site_of=by_portal,
                         log=context.log.info)
    out = home.work / f"probes-{context.partition_key.replace(':', '')}-{context.run_id[:8]}.csv"
    write_probes(out, rows)
    land(home.snapshots, "probes", out, origin=f"portal-index {__version__} probes ({portal_index.mode}) "
                                              f"hour {context.partition_key} run {context.run_id}")
    out.unlink()
    failed = [r for r in rows if r.get("error")]
    return dg.MaterializeResult(metadata={
        "probes": len(rows), "failed": len(failed),
        "errors": dg.MetadataValue.json(dict(sorted(Counter(r["error"] for r in failed).items())))})


@dg.asset(group_name="sources", kinds={"python", "duckdb"}, deps=[portal_probes])
def probe_results(context: dg.AssetExecutionContext, portal_index: PortalIndexResource) -> dg.MaterializeResult:
    """Every probe snapshot not loaded yet (our hourly probes, and probe files dropped in the inbox)."""
    return _report(context, ingest_source(portal_index.paths(), "probes"))


@dg.asset(group_name="sources", kinds={"python", "chromium"})
def accessibility_audits(context: dg.AssetExecutionContext, config: FetchConfig,
                         portal_index: PortalIndexResource) -> dg.MaterializeResult:
    """Key pages (home, search) audited in headless Chromium with axe-core (WCAG 2.1 A/AA), with LCP and CLS; feeds
    A01 where present (plus audit files dropped in the inbox). Without Chromium, nothing is audited
    and A01 keeps the crawl's checks."""
    home = portal_index.paths()
    chromium = find_chromium()
    if config.fetch and portal_index.mode != "inbox" and chromium is None:
        context.log.warning("no Chromium found (install Debian's chromium): no browser audit in this run; "
                            "A01 uses the crawl's accessibility checks")
    elif config.fetch and portal_index.mode != "inbox":
        with (Simulator() if portal_index.mode == "demo" else contextlib.nullcontext()) as sim:
            bases = sorted(_targets(sim).items())
            limit = portal_index.audit_max_portals or (DEMO_AUDITS if portal_index.mode == "demo" else None)
            pages = key_urls(dict(bases[:limit] if limit else bases), key_paths(home.warehouse))
            tables = audit([(pid, url) for pid, _, url in pages], chromium, page_seconds=portal_index.audit_page_seconds,
                           guard=portal_index.crawl_limits(sim.port if sim else None).guard, log=context.log.info)
        out = home.work / f"audits-{context.run_id[:8]}.jsonl"
        write_records(out, AUDIT_RECORDS, tables)
        land(home.snapshots, "audits", out,
             origin=f"portal-index {__version__} audits ({portal_index.mode}) run {context.run_id}")
        out.unlink()
    return _report(context, ingest_source(home, "audits"))


@dg.asset(group_name="sources", kinds={"python", "duckdb"})
def survey_sheets(context: dg.AssetExecutionContext, portal_index: PortalIndexResource) -> dg.MaterializeResult:
    """Evaluators' survey sheets from the inbox; a bad sheet is rejected with its reasons, others load."""
    home = portal_index.paths()
    if portal_index.mode == "demo":
        seed_surveys(home, period_of(date.today()), log=context.log.info)
    return _report(context, ingest_source(home, "surveys"))


@dg.asset(group_name="sources", kinds={"python", "duckdb"})
def papi_indicators(context: dg.AssetExecutionContext, portal_index: PortalIndexResource) -> dg.MaterializeResult:
    """PAPI provincial indicators (tidy CSV) from the inbox."""
    home = portal_index.paths()
    if portal_index.mode == "demo":
        seed_papi(home, log=context.log.info)
    return _report(context, ingest_source(home, "papi"))
