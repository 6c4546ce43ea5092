"""The four sources: each lands immutable snapshots, then loads the raw tables."""


import contextlib
from datetime import date

import dagster as dg

from orchestration.resources import PortalIndexResource
from portal_index import __version__
from portal_index.crawler import crawl
from portal_index.demo import seed_papi, seed_surveys
from portal_index.ingest import ingest_source
from portal_index.prober import probe_all
from portal_index.registry import active_portals, period_of
from portal_index.results_files import write_crawl, write_probes
from portal_index.simulator import Simulator
from portal_index.snapshots import land
from portal_index.warehouse import LoadReport


class FetchConfig(dg.Config):
    fetch: bool = True
    """Crawl or probe the portals before loading; false only loads files dropped in the inbox."""


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


def _targets(resource: PortalIndexResource, sim: Simulator | None) -> dict[str, str]:
    portals = active_portals(period_of(date.today()))
    if sim is not None:
        return {p["portal_id"]: sim.url_for(p["portal_id"]) for p in portals}
    return {p["portal_id"]: p["base_url"] for p in portals if p["base_url"]}


def _fetch(resource: PortalIndexResource, context, kind: str) -> None:
    """Crawl or probe the active portals and land the result as a snapshot."""
    home = resource.paths()
    with (Simulator() if resource.mode == "demo" else contextlib.nullcontext()) as sim:
        targets = _targets(resource, sim)
        if kind == "crawl":
            pages, signals = crawl(targets, resource.crawl_limits(), log=context.log.info)
            out = home.work / f"crawl-{context.run_id[:8]}.jsonl"
            write_crawl(out, pages, signals)
        else:
            rows = probe_all(targets, rounds=resource.probe_rounds, log=context.log.info)
            out = home.work / f"probes-{context.run_id[:8]}.csv"
            write_probes(out, rows)
    land(home.snapshots, kind, out, origin=f"portal-index {__version__} {kind} ({resource.mode}) run {context.run_id}")
    out.unlink()


@dg.asset(group_name="sources", kinds={"python", "duckdb"})
def crawl_results(context: dg.AssetExecutionContext, config: FetchConfig,
                  portal_index: PortalIndexResource) -> dg.MaterializeResult:
    """Pages and signals from crawling every active portal (plus crawl files dropped in the inbox)."""
    if config.fetch and portal_index.mode != "inbox":
        _fetch(portal_index, context, "crawl")
    return _report(context, ingest_source(portal_index.paths(), "crawl"))


@dg.asset(group_name="sources", kinds={"python", "duckdb"})
def probe_results(context: dg.AssetExecutionContext, config: FetchConfig,
                  portal_index: PortalIndexResource) -> dg.MaterializeResult:
    """Timed probes of every active portal (plus probe files dropped in the inbox)."""
    if config.fetch and portal_index.mode != "inbox":
        _fetch(portal_index, context, "probes")
    return _report(context, ingest_source(portal_index.paths(), "probes"))


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
