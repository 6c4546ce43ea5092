"""Schedules (stopped by default): probes hourly, crawls weekly, a release each half-year."""


import dagster as dg

from orchestration.jobs import all_portals_tags, audit_job, crawl_job, probe_job, release_job

TZ = "Asia/Ho_Chi_Minh"

probes_hourly = dg.build_schedule_from_partitioned_job(probe_job, name="probes_hourly",
                                                       default_status=dg.DefaultScheduleStatus.STOPPED)


@dg.schedule(name="crawls_weekly", job=crawl_job, cron_schedule="0 2 * * 1", execution_timezone=TZ,
             default_status=dg.DefaultScheduleStatus.STOPPED)
def crawls_weekly(context: dg.ScheduleEvaluationContext):
    """Every portal, in one run (a failed portal is then crawled again alone from its partition)."""
    return dg.RunRequest(run_key=None, tags=all_portals_tags())


release_half_yearly = dg.ScheduleDefinition(name="release_half_yearly", job=release_job,
                                            cron_schedule="0 6 1 1,7 *", execution_timezone=TZ,
                                            default_status=dg.DefaultScheduleStatus.STOPPED)
audits_weekly = dg.ScheduleDefinition(name="audits_weekly", job=audit_job, cron_schedule="0 3 * * 1",
                                      execution_timezone=TZ, default_status=dg.DefaultScheduleStatus.STOPPED)
