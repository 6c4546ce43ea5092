-- Probe aggregates per portal and period: availability, median TTFB, 95th percentile total, HTTPS health.
-- Availability counts a probe and its retry once: up if either attempt succeeded.
with attempts as (
    select portal_id, period, url, attempt_of, bool_or(is_success) as up
    from {{ ref('stg_probes__probes') }}
    group by all
),
availability as (
    select portal_id, period, count(*) as probes, avg(case when up then 1.0 else 0.0 end) as availability
    from attempts
    group by all
),
agg as (
    select
        portal_id,
        period,
        any_value(a.probes) as probes,
        any_value(a.availability) as availability,
        median(ttfb_ms) filter (where is_success) as ttfb_median_ms,
        quantile_cont(total_ms, 0.95) filter (where is_success) as total_p95_ms,
        arg_max(
            case when url like 'https://%' and error is null and coalesce(redirects_to_https, false)
                      and tls_expires_at > probed_at + interval 14 days then 1.0 else 0.0 end,
            probed_at) as https_ok,
        min(probed_at) as first_probe,
        max(probed_at) as last_probe
    from {{ ref('stg_probes__probes') }}
    join availability as a using (portal_id, period)
    group by all
)
select
    portal_id,
    period,
    measure,
    value,
    'probes' as source,
    probes || ' probes, ' || strftime(first_probe, '%Y-%m-%d %H:%M') || ' to '
        || strftime(last_probe, '%Y-%m-%d %H:%M') || ' UTC' as evidence
from agg
unpivot (value for measure in (availability, ttfb_median_ms, total_p95_ms, https_ok))
-- unpivot drops nulls: a portal with no successful probe has no timing, which is missing, not zero
