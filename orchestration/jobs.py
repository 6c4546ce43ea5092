"""Jobs. The two fetchers are partitioned differently (crawls by portal, probes by hour), so each
has its own job; `pipeline_job` is everything else: loading, the audit, scoring and publishing.
`portal-index run` runs the crawl job over every portal, the probe job for the current hour, then
the pipeline job."""


import dagster as dg

from orchestration.assets.dbt import MART_KEYS

FETCHERS = dg.AssetSelection.assets("portal_crawls", "portal_probes")

pipeline_job = dg.define_asset_job("pipeline_job", selection=dg.AssetSelection.all() - FETCHERS,
                                   description="Load the crawls and probes, audit, ingest, score, validate and publish.")
release_job = dg.define_asset_job(
    "release_job", selection=dg.AssetSelection.all() - FETCHERS,
    config={"ops": {"accessibility_audits": {"config": {"fetch": False}}}},  # load what is there, fetch nothing
    description="Ingest inbox files and unloaded snapshots, score, validate and publish from the data gathered so far.")
publish_job = dg.define_asset_job(
    "publish_job",
    # the Great Expectations gate only: the dbt tests ran in the build that made the marts
    selection=dg.AssetSelection.assets("release")
    | dg.AssetSelection.checks(*[dg.AssetCheckKey(key, "great_expectations") for key in MART_KEYS]),
    description="Validate the current marts with Great Expectations and publish them (no rebuild).")
crawl_job = dg.define_asset_job("crawl_job", selection=dg.AssetSelection.assets("portal_crawls", "crawl_results"),
                               description="Crawl portals (one partition each) and load what they gave.")
probe_job = dg.define_asset_job("probe_job", selection=dg.AssetSelection.assets("portal_probes", "probe_results"),
                               description="Probe every portal for one hour's partition and load the probes.")
audit_job = dg.define_asset_job("audit_job", selection=dg.AssetSelection.assets("accessibility_audits"),
                                description="Audit the portals' home pages in headless Chromium (axe-core).")


def all_portals_tags() -> dict[str, str]:
    """Run tags for one run over every portal partition (the crawl asset's backfill policy is a single run)."""
    from orchestration.assets.ingest import PORTALS

    keys = PORTALS.get_partition_keys()
    return {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}


def current_hour_tags() -> dict[str, str]:
    """Run tags for the probe partition of the hour we are in."""
    from orchestration.assets.ingest import HOURS

    return {"dagster/partition": HOURS.get_last_partition_key()}
