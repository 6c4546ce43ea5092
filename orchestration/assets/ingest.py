"""The four sources: each lands immutable snapshots, then loads the raw tables."""


import contextlib
from datetime import date
from pathlib import Path

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


def _targets(sim: Simulator | None) -> dict[str, str]:
    """{portal_id: URL} of the portals active today: on the simulator in demo mode, else the real ones."""
    portals = active_portals(period_of(date.today()))
    if sim is not None:
        return {p["portal_id"]: sim.url_for(p["portal_id"]) for p in portals}
    return {p["portal_id"]: p["base_url"] for p in portals if p["base_url"]}


def _crawl(resource: PortalIndexResource, context, targets: dict[str, str], out: Path) -> Path:
    pages, signals = crawl(targets, resource.crawl_limits(), log=context.log.info)
    write_crawl(out.with_suffix(".jsonl"), pages, signals)
    return out.with_suffix(".jsonl")


def _probe(resource: PortalIndexResource, context, targets: dict[str, str], out: Path) -> Path:
    write_probes(out.with_suffix(".csv"), probe_all(targets, rounds=resource.probe_rounds, log=context.log.info))
    return out.with_suffix(".csv")


FETCHERS = {"crawl": _crawl, "probes": _probe}


def _fetch_and_load(context, config: FetchConfig, resource: PortalIndexResource, source: str) -> dg.MaterializeResult:
    """Crawl or probe the active portals (unless told not to), land the result, then load the source."""
    home = resource.paths()
    if config.fetch and resource.mode != "inbox":
        with (Simulator() if resource.mode == "demo" else contextlib.nullcontext()) as sim:
            out = FETCHERS[source](resource, context, _targets(sim), home.work / f"{source}-{context.run_id[:8]}")
        land(home.snapshots, source, out,
             origin=f"portal-index {__version__} {source} ({resource.mode}) run {context.run_id}")
        out.unlink()
    return _report(context, ingest_source(home, source))


@dg.asset(group_name="sources", kinds={"python", "duckdb"})
def crawl_results(context: dg.AssetExecutionContext, config: FetchConfig,
                  portal_index: PortalIndexResource) -> dg.MaterializeResult:
    """Pages and signals from crawling every active portal (plus crawl files dropped in the inbox)."""
    return _fetch_and_load(context, config, portal_index, "crawl")


@dg.asset(group_name="sources", kinds={"python", "duckdb"})
def probe_results(context: dg.AssetExecutionContext, config: FetchConfig,
                  portal_index: PortalIndexResource) -> dg.MaterializeResult:
    """Timed probes of every active portal (plus probe files dropped in the inbox)."""
    return _fetch_and_load(context, config, portal_index, "probes")


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
