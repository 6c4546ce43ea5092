"""Every Dagster definition of the project, assembled by `build_defs()`.

sources/     fetcher assets (crawl, probes, audit) and loader assets (one per source), partitions
scoring/     the dbt project as assets (seeds, staging, intermediate, marts)
checks/      Great Expectations suites as blocking asset checks on the marts
release/     the release asset
automation/  jobs, schedules and the inbox sensor
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing this package (for one of its light modules) does not import Dagster
    import dagster as dg


def build_defs() -> dg.Definitions:
    """The definitions; the dbt manifest is prepared here (parsed when stale), never at import."""
    import dagster as dg

    from orchestration.defs.automation import jobs, schedules, sensors
    from orchestration.defs.checks.checks import great_expectations_checks
    from orchestration.defs.cluster import celery_executor
    from orchestration.defs.release.assets import release_asset
    from orchestration.defs.resources import PortalIndexResource, dbt_resource
    from orchestration.defs.scoring.assets import mart_keys, scoring_assets
    from orchestration.defs.sources import fetchers, loaders
    from orchestration.defs.sources.partitions import hour_partitions, portal_partitions
    from portal_index.config import Home, executor

    marts = mart_keys()
    resources = {"portal_index": PortalIndexResource(), "dbt": dbt_resource()}
    step_executor = None  # Dagster's default: in one process (`execute_in_process`) or a process per step
    if executor() == "celery":  # steps on Celery workers; their outputs in the shared working folder
        step_executor = celery_executor()
        resources["io_manager"] = dg.FilesystemIOManager(base_dir=str(Home.from_env().root / "step-outputs"))
    with warnings.catch_warnings():  # the crawl's single-run backfill policy is a beta parameter of Dagster's
        warnings.simplefilter("ignore", dg.BetaWarning)
        fetcher_assets = fetchers.fetcher_assets(portal_partitions(), hour_partitions())
    return dg.Definitions(
        assets=[
            *fetcher_assets,
            *dg.load_assets_from_modules([loaders]),
            scoring_assets(),
            release_asset(marts),
        ],
        asset_checks=[great_expectations_checks(marts)],
        jobs=jobs.all_jobs(marts),
        schedules=schedules.all_schedules(),
        sensors=[sensors.inbox_sensor],
        resources=resources,
        executor=step_executor,
    )
