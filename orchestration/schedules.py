"""Schedules (stopped by default): probes hourly, crawls weekly, a release each half-year."""


import dagster as dg

from orchestration.jobs import crawl_job, probe_job, release_job

TZ = "Asia/Ho_Chi_Minh"

probes_hourly = dg.ScheduleDefinition(name="probes_hourly", job=probe_job, cron_schedule="0 * * * *",
                                      execution_timezone=TZ, default_status=dg.DefaultScheduleStatus.STOPPED)
crawls_weekly = dg.ScheduleDefinition(name="crawls_weekly", job=crawl_job, cron_schedule="0 2 * * 1",
                                      execution_timezone=TZ, default_status=dg.DefaultScheduleStatus.STOPPED)
release_half_yearly = dg.ScheduleDefinition(name="release_half_yearly", job=release_job,
                                            cron_schedule="0 6 1 1,7 *", execution_timezone=TZ,
                                            default_status=dg.DefaultScheduleStatus.STOPPED)
