-- Probe aggregates per portal and period: availability, median TTFB, 95th percentile total, HTTPS health.
-- Availability counts a probe and its retry once: up if either attempt succeeded.
-- Incremental by period: a build recomputes only the periods that probe snapshots loaded since the
-- previous build fall in (`dbt build --full-refresh` recomputes all, after rows were removed).
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='period',
          on_schema_change='append_new_columns') }}
with loads as (
    {{ accepted_snapshots('probes') }}
),
probes as not materialized (  -- each use scans the raw table again: cheaper than keeping it
    select *
    from {{ ref('stg_probes__probes') }}
    where is_scoring  -- the scoring basis: probes of scoring vantages (seed vantages)
    {%- if incremental_since('probes_loaded_through') %}
      and {{ in_periods('probed_at', changed_periods('probes', 'probes', 'probed_at', 'probes_loaded_through')) }}
    {%- endif %}
),
{{ probe_attempts() }},
availability as materialized (  -- one aggregation at a time: each gets the memory
    select portal_id, period, count(*) as probes, avg(case when up then 1.0 else 0.0 end) as availability
    from attempts
    group by all
),
agg as materialized (
    select
        portal_id,
        period,
        {{ quantile_of('ttfb_ms', 0.5, 'is_success') }} as ttfb_median_ms,
        {{ quantile_of('total_ms', 0.95, 'is_success') }} as total_p95_ms,
        -- the latest probe of the home page (the one whose http -> https redirect is checked) that the
        -- portal itself answered, not a bot wall: its fields, judged once per portal below (a string
        -- built for each of millions of probes cost more than the rest of the model)
        arg_max({'url': url, 'error': error, 'redirects_to_https': redirects_to_https, 'tls_fault': tls_fault,
                 'tls_expires_at': tls_expires_at, 'probed_at': probed_at}, probed_at)
            filter (where url_kind = 'home' and error is distinct from 'blocked') as home,
        min(probed_at) as first_probe,
        max(probed_at) as last_probe
    from probes
    group by all
),
judged as (  -- an incomplete certificate chain is a fault; the evidence says why a 0 is a 0
    select
        *,
        case when home is null then null
             when home.url like 'https://%' and home.error is null and coalesce(home.redirects_to_https, false)
                  and home.tls_fault is null and home.tls_expires_at > home.probed_at + interval 14 days then 1.0
             else 0.0 end as https_ok,
        case when home is not null then
            case when home.url not like 'https://%' then 'no https (' || home.url || ')'
                 when home.error is not null then 'error ' || home.error
                 when not coalesce(home.redirects_to_https, false) then 'http does not redirect to https'
                 when home.tls_fault is not null then home.tls_fault
                 when home.tls_expires_at is null or home.tls_expires_at <= home.probed_at + interval 14 days
                     then 'certificate expires ' || coalesce(strftime(home.tls_expires_at, '%Y-%m-%d'), '(unknown)')
                 else 'https, http redirects, complete chain, certificate valid to '
                     || strftime(home.tls_expires_at, '%Y-%m-%d') end
                || ' (' || strftime(home.probed_at, '%Y-%m-%d %H:%M') || ' UTC)' end as https_evidence
    from agg
)
select
    portal_id,
    period,
    measure,
    value,
    'probes' as source,
    case when measure = 'https_ok' and https_evidence is not null then https_evidence
         else probes || ' probes, ' || strftime(first_probe, '%Y-%m-%d %H:%M') || ' to '
              || strftime(last_probe, '%Y-%m-%d %H:%M') || ' UTC' end as evidence,
    (select max(loaded_at) from loads) as probes_loaded_through
from judged
join availability using (portal_id, period)
unpivot (value for measure in (availability, ttfb_median_ms, total_p95_ms, https_ok))
-- unpivot drops nulls: a portal with no successful probe has no timing, which is missing, not zero
