"""Loader assets, one per source: land the inbox's files as snapshots, then parse every snapshot the
warehouse has not seen into the raw tables (a bad file is rejected with its reasons; the others load)."""

import dagster as dg

from orchestration.defs.resources import PortalIndexResource
from portal_index.land.ingest import ingest_source
from portal_index.land.warehouse import LoadReport

REJECTIONS_CHECK = "no_rejected_files"


def _checks(asset: str) -> list[dg.AssetCheckSpec]:
    """A warning (not a block: the other files load and publish) when a file of this source was rejected."""
    return [dg.AssetCheckSpec(REJECTIONS_CHECK, asset=asset, description="Every input file of this run was loaded.")]


def _load(context: dg.AssetExecutionContext, portal_index: PortalIndexResource, source: str) -> dg.MaterializeResult:
    report: LoadReport = ingest_source(portal_index.paths(), source)
    for line in report.skipped:
        context.log.warning(f"inbox: {line}")
    for snapshot, problems in report.rejected:
        context.log.warning(
            f"rejected {snapshot.original_name} ({snapshot.sha256[:12]}): " + "; ".join(str(p) for p in problems[:20])
        )
    check = dg.AssetCheckResult(
        check_name=REJECTIONS_CHECK,
        passed=not report.rejected,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "files_rejected": len(report.rejected),
            "files": dg.MetadataValue.json([s.original_name for s, _ in report.rejected]),
        },
    )
    return dg.MaterializeResult(
        check_results=[check],
        metadata={
            "files_accepted": len(report.accepted),
            "rows_loaded": report.rows,
            "files_rejected": len(report.rejected),
            "rejections": dg.MetadataValue.md(
                "\n".join(
                    f"- **{s.original_name}**: " + "; ".join(str(p) for p in ps[:10]) for s, ps in report.rejected
                )
                or "none"
            ),
        },
    )


@dg.asset(
    group_name="sources", kinds={"python", "duckdb"}, deps=["portal_crawls"], check_specs=_checks("crawl_results")
)
def crawl_results(context: dg.AssetExecutionContext, portal_index: PortalIndexResource) -> dg.MaterializeResult:
    """Pages and signals from every crawl snapshot not loaded yet (our WARC files, and crawl files
    dropped in the inbox)."""
    return _load(context, portal_index, "crawl")


@dg.asset(
    group_name="sources", kinds={"python", "duckdb"}, deps=["portal_probes"], check_specs=_checks("probe_results")
)
def probe_results(context: dg.AssetExecutionContext, portal_index: PortalIndexResource) -> dg.MaterializeResult:
    """Every probe snapshot not loaded yet (our hourly probes, and probe files dropped in the inbox)."""
    return _load(context, portal_index, "probes")


@dg.asset(
    group_name="sources", kinds={"python", "duckdb"}, deps=["portal_audits"], check_specs=_checks("audit_results")
)
def audit_results(context: dg.AssetExecutionContext, portal_index: PortalIndexResource) -> dg.MaterializeResult:
    """Every accessibility audit snapshot not loaded yet (our browser audits, and audit files dropped
    in the inbox); feeds A01 where present."""
    return _load(context, portal_index, "audits")


@dg.asset(group_name="sources", kinds={"python", "duckdb"}, check_specs=_checks("survey_sheets"))
def survey_sheets(context: dg.AssetExecutionContext, portal_index: PortalIndexResource) -> dg.MaterializeResult:
    """Evaluators' survey sheets from the inbox; a bad sheet is rejected with its reasons, others load."""
    portal_index.seed_demo_inputs("surveys", log=context.log.info)
    return _load(context, portal_index, "surveys")


@dg.asset(group_name="sources", kinds={"python", "duckdb"}, check_specs=_checks("papi_indicators"))
def papi_indicators(context: dg.AssetExecutionContext, portal_index: PortalIndexResource) -> dg.MaterializeResult:
    """PAPI provincial indicators (tidy CSV or the official workbooks) from the inbox."""
    portal_index.seed_demo_inputs("papi", log=context.log.info)
    return _load(context, portal_index, "papi")
