"""Schedules (stopped by default), in Vietnam time: probes hourly, crawls and audits weekly, a
release each half-year."""

import dagster as dg

from orchestration.defs.automation.jobs import audit_job, crawl_job, probe_job, release_job
from orchestration.defs.sources.partitions import NoPortals, all_portals_tags
from portal_index.core.periods import time_zone

STOPPED = dg.DefaultScheduleStatus.STOPPED


def all_schedules() -> list:
    tz = time_zone()

    @dg.schedule(
        name="crawls_weekly", job=crawl_job, cron_schedule="0 2 * * 1", execution_timezone=tz, default_status=STOPPED
    )
    def crawls_weekly(context: dg.ScheduleEvaluationContext):
        """Every portal, in one run (a failed portal is then crawled again alone from its partition)."""
        try:
            return dg.RunRequest(run_key=None, tags=all_portals_tags())
        except NoPortals as e:
            return dg.SkipReason(str(e))

    return [
        dg.build_schedule_from_partitioned_job(probe_job, name="probes_hourly", default_status=STOPPED),
        crawls_weekly,
        dg.ScheduleDefinition(
            name="audits_weekly",
            job=audit_job,
            cron_schedule="0 3 * * 1",
            execution_timezone=tz,
            default_status=STOPPED,
        ),
        dg.ScheduleDefinition(
            name="release_half_yearly",
            job=release_job,
            cron_schedule="0 6 1 1,7 *",
            execution_timezone=tz,
            default_status=STOPPED,
        ),
    ]
