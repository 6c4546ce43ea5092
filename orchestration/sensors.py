"""A sensor that ingests files dropped into $PORTAL_INDEX_HOME/inbox/<source>/."""


import dagster as dg

from orchestration.resources import PortalIndexResource
from portal_index.config import SOURCES

ASSET_FOR_SOURCE = {"crawl": "crawl_results", "probes": "probe_results", "audits": "accessibility_audits",
                    "surveys": "survey_sheets", "papi": "papi_indicators"}
ingest_job = dg.define_asset_job("ingest_job", selection=dg.AssetSelection.assets(*ASSET_FOR_SOURCE.values()))


def pending_files(portal_index: PortalIndexResource) -> dict[str, list[str]]:
    """{source: [file signatures]} for files waiting in the inbox (name, size, mtime)."""
    home = portal_index.paths()
    out = {}
    for source in SOURCES:
        files = sorted(p for p in home.inbox(source).glob("*") if p.is_file() and not p.name.startswith("."))
        if files:
            out[source] = [f"{p.name}:{p.stat().st_size}:{int(p.stat().st_mtime)}" for p in files]
    return out


@dg.sensor(job=ingest_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def inbox_sensor(context: dg.SensorEvaluationContext, portal_index: PortalIndexResource):
    """One run per batch of new inbox files; fetchers are told not to crawl or probe."""
    pending = pending_files(portal_index)
    if not pending:
        yield dg.SkipReason("inbox is empty")
        return
    run_key = "|".join(f"{s}={','.join(files)}" for s, files in sorted(pending.items()))
    assets = [ASSET_FOR_SOURCE[s] for s in pending]
    ops = {name: {"config": {"fetch": False}} for name in assets if name == "accessibility_audits"}
    yield dg.RunRequest(run_key=run_key, asset_selection=[dg.AssetKey(a) for a in assets],
                        run_config={"ops": ops})
