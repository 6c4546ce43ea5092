"""Jobs: the whole pipeline, a release from accumulated data, and the fetchers."""


import dagster as dg

from orchestration.assets.dbt import MART_KEYS

FETCHERS = dg.AssetSelection.assets("crawl_results", "probe_results")

pipeline_job = dg.define_asset_job("pipeline_job", selection=dg.AssetSelection.all(),
                                   description="Fetch, ingest, score, validate and publish.")
release_job = dg.define_asset_job("release_job", selection=dg.AssetSelection.all() - FETCHERS,
                                  description="Ingest inbox files, score, validate and publish from the data gathered so far.")
publish_job = dg.define_asset_job(
    "publish_job",
    # the Great Expectations gate only: the dbt tests ran in the build that made the marts
    selection=dg.AssetSelection.assets("release")
    | dg.AssetSelection.checks(*[dg.AssetCheckKey(key, "great_expectations") for key in MART_KEYS]),
    description="Validate the current marts with Great Expectations and publish them (no rebuild).")
crawl_job = dg.define_asset_job("crawl_job", selection=dg.AssetSelection.assets("crawl_results"))
probe_job = dg.define_asset_job("probe_job", selection=dg.AssetSelection.assets("probe_results"))
