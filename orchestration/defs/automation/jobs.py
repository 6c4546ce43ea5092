"""Jobs, one per distinct selection. The fetchers are partitioned differently (crawls by portal,
probes by hour) or need a browser, so each has its own job with its loader; `release_job` is
everything else (loading, scoring, validating, publishing), and the inbox sensor asks it for the
part that depends on what was dropped. `portal-index run` runs crawl_job over every portal,
probe_job for the current hour, audit_job, then release_job."""

import dagster as dg

# Run tags the queued run coordinator limits (deploy/dagster.yaml): one crawl run at a time, so no
# portal is crawled by two runs at once; runs with browser work (the crawl's rendering pass, the
# audit) capped together. The in-process default ignores them.
CRAWL_TAGS = {"portal-index/fetch": "crawl", "portal-index/browser": "yes"}
PROBE_TAGS = {"portal-index/fetch": "probe"}
AUDIT_TAGS = {"portal-index/fetch": "audit", "portal-index/browser": "yes"}
RELEASE_TAGS = {"portal-index/warehouse": "write"}

FETCHERS = dg.AssetSelection.assets("portal_crawls", "portal_probes", "portal_audits")

crawl_job = dg.define_asset_job(
    "crawl_job",
    selection=dg.AssetSelection.assets("portal_crawls", "crawl_results"),
    description="Crawl portals (one partition each) and load what they gave.",
    tags=CRAWL_TAGS,
)
probe_job = dg.define_asset_job(
    "probe_job",
    selection=dg.AssetSelection.assets("portal_probes", "probe_results"),
    description="Probe every portal for one hour's partition and load the probes.",
    tags=PROBE_TAGS,
)
audit_job = dg.define_asset_job(
    "audit_job",
    selection=dg.AssetSelection.assets("portal_audits", "audit_results"),
    description="Audit the portals' key pages in headless Chromium (axe-core) and load the audits.",
    tags=AUDIT_TAGS,
)
release_job = dg.define_asset_job(
    "release_job",
    selection=dg.AssetSelection.all() - FETCHERS,
    description="Load inbox files and unloaded snapshots, score, validate and publish (fetches nothing).",
    tags=RELEASE_TAGS,
)


def publish_job(marts: list[dg.AssetKey]):
    return dg.define_asset_job(
        "publish_job",
        # the Great Expectations gate only: the dbt tests ran in the build that made the marts
        selection=dg.AssetSelection.assets("release")
        | dg.AssetSelection.checks(*[dg.AssetCheckKey(key, "great_expectations") for key in marts]),
        description="Validate the current marts with Great Expectations and publish them (no rebuild).",
        tags=RELEASE_TAGS,
    )


def all_jobs(marts: list[dg.AssetKey]) -> list:
    return [crawl_job, probe_job, audit_job, release_job, publish_job(marts)]
