"""The code location: load the assets, checks, jobs, schedules and sensors; bind resources."""

import dagster as dg

from orchestration import jobs, schedules, sensors
from orchestration.assets import ingest, release
from orchestration.assets.dbt import portal_index_dbt
from orchestration.checks import great_expectations_checks
from orchestration.resources import PortalIndexResource, dbt_resource

defs = dg.Definitions(
    assets=[*dg.load_assets_from_modules([ingest, release]), portal_index_dbt],
    asset_checks=[great_expectations_checks],
    jobs=[jobs.pipeline_job, jobs.release_job, jobs.publish_job, jobs.crawl_job, jobs.probe_job, jobs.audit_job, sensors.ingest_job],
    schedules=[schedules.probes_hourly, schedules.crawls_weekly, schedules.audits_weekly, schedules.release_half_yearly],
    sensors=[sensors.inbox_sensor],
    resources={"portal_index": PortalIndexResource(), "dbt": dbt_resource()},
)
