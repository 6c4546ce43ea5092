"""Jobs: the whole pipeline, a release from accumulated data, and the fetchers."""


import dagster as dg

from orchestration.assets.dbt import MART_KEYS

pipeline_job = dg.define_asset_job("pipeline_job", selection=dg.AssetSelection.all(),
                                   description="Fetch, ingest, score, validate and publish.")
release_job = dg.define_asset_job(
    "release_job", selection=dg.AssetSelection.all() - dg.AssetSelection.assets("portal_crawls"),
    config={"ops": {name: {"config": {"fetch": False}} for name in ("probe_results", "accessibility_audits")}},
    description="Ingest inbox files and unloaded snapshots, score, validate and publish from the data gathered so far.")
publish_job = dg.define_asset_job(
    "publish_job",
    # the Great Expectations gate only: the dbt tests ran in the build that made the marts
    selection=dg.AssetSelection.assets("release")
    | dg.AssetSelection.checks(*[dg.AssetCheckKey(key, "great_expectations") for key in MART_KEYS]),
    description="Validate the current marts with Great Expectations and publish them (no rebuild).")
crawl_job = dg.define_asset_job("crawl_job", selection=dg.AssetSelection.assets("portal_crawls", "crawl_results"),
                               description="Crawl portals (one partition each) and load what they gave.")


def all_portals_tags() -> dict[str, str]:
    """Run tags for one run over every portal partition (the crawl asset's backfill policy is a single run)."""
    from orchestration.assets.ingest import PORTALS

    keys = PORTALS.get_partition_keys()
    return {"dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]}
probe_job = dg.define_asset_job("probe_job", selection=dg.AssetSelection.assets("probe_results"))
audit_job = dg.define_asset_job("audit_job", selection=dg.AssetSelection.assets("accessibility_audits"),
                                description="Audit the portals' home pages in headless Chromium (axe-core).")
