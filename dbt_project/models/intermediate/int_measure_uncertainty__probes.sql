-- The standard errors of the probes' sampled measures per portal and period (availability,
-- ttfb_median_ms, total_p95_ms), for int_measure_uncertainty; see its header for the method.
-- Incremental by period, like int_measures__probes: a build recomputes only the periods of the probe
-- snapshots loaded since the last one.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='period',
          on_schema_change='append_new_columns') }}
with loads as (
    {{ accepted_snapshots('probes') }}
),
probes as (
    select
        portal_id,
        period,
        probed_at,
        is_success,
        ttfb_ms,
        total_ms,
        cast(make_timestamp(epoch_us(probed_at) + {{ var('assessment_utc_offset_hours') * 3600 * 1000000 }}) as date)
            as vietnam_day
    from {{ ref('stg_probes__probes') }}
    where is_scoring and retry_of is null and error is distinct from 'blocked'
    {%- if incremental_since('probes_loaded_through') %}
      and {{ in_periods('probed_at', changed_periods('probes', 'probes', 'probed_at', 'probes_loaded_through')) }}
    {%- endif %}
),
spans as (
    select portal_id, period, count(distinct vietnam_day) >= 2 as by_day
    from probes
    group by all
),
units as (
    select
        p.portal_id,
        p.period,
        -- a number, not a string: millions of probes are grouped by it
        case when s.by_day then date_diff('day', date '1970-01-01', p.vietnam_day) else epoch_us(p.probed_at) end as unit,
        avg(case when p.is_success then 1.0 else 0.0 end) as availability,
        {{ quantile_of('p.ttfb_ms', 0.5, 'p.is_success') }} as ttfb_median_ms,
        {{ quantile_of('p.total_ms', 0.95, 'p.is_success') }} as total_p95_ms
    from probes as p
    join spans as s using (portal_id, period)
    group by all
),
probe_errors as (
    select portal_id, period, measure, count(*) as units, {{ exact_stddev_pop('value') }} / sqrt(count(*)) as standard_error
    from units
    unpivot (value for measure in (availability, ttfb_median_ms, total_p95_ms))
    group by all
)
select portal_id, period, measure, units, standard_error, (select max(loaded_at) from loads) as probes_loaded_through
from probe_errors
