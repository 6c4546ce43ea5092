"""A sensor that ingests files dropped into $PORTAL_INDEX_HOME/inbox/<source>/, and re-runs only
what depends on them: a changed survey sheet re-scores the survey measures and everything after
them, not the probes or the crawls."""

import dagster as dg

from orchestration.defs.automation.jobs import FETCHERS, release_job
from orchestration.defs.resources import PortalIndexResource
from portal_index.config import SOURCES

LOADER_OF_SOURCE = {
    "crawl": "crawl_results",
    "probes": "probe_results",
    "audits": "audit_results",
    "surveys": "survey_sheets",
    "papi": "papi_indicators",
}


def inbox_selection(sources) -> dg.AssetSelection:
    """The loaders of these sources and every asset downstream of them (never a fetcher)."""
    return dg.AssetSelection.assets(*[LOADER_OF_SOURCE[s] for s in sources]).downstream() - FETCHERS


def pending_files(portal_index: PortalIndexResource) -> dict[str, list[str]]:
    """{source: [file signatures]} for files waiting in the inbox (name, size, mtime)."""
    home = portal_index.paths()
    out = {}
    for source in SOURCES:
        files = sorted(p for p in home.inbox(source).glob("*") if p.is_file() and not p.name.startswith("."))
        if files:
            out[source] = [f"{p.name}:{p.stat().st_size}:{int(p.stat().st_mtime)}" for p in files]
    return out


@dg.sensor(job=release_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def inbox_sensor(context: dg.SensorEvaluationContext, portal_index: PortalIndexResource):
    """One run per batch of new inbox files, of the part of release_job that depends on them."""
    pending = pending_files(portal_index)
    if not pending:
        yield dg.SkipReason("inbox is empty")
        return
    run_key = "|".join(f"{s}={','.join(files)}" for s, files in sorted(pending.items()))
    keys = inbox_selection(pending).resolve(context.repository_def.asset_graph)
    yield dg.RunRequest(run_key=run_key, asset_selection=sorted(keys))
