-- How precise the measures are that are samples (docs/methodology.md, "How sure"): one row per
-- portal, period and sampled measure with its standard error, from resampling units.
-- Probes: the units are the days of probing (Vietnam days) when a portal's probes of the period
-- span two days or more, else the single probes (one round of probing, as in the demo); a unit's
-- availability, median time to first byte and 95th percentile of the total time are taken, and the
-- standard error of the period's value is the bootstrap's for a mean of units: their population
-- standard deviation / sqrt(units). First attempts only (a retry belongs to its attempt), walls
-- excluded, as for the measures themselves.
-- Survey answers: a portal has one or two tests per measure, too few for a spread of its own, so
-- the spread of the measure's answers over every portal in the period stands in (an upper bound:
-- it counts differences between portals as noise), divided by sqrt(the portal's answers).
-- Crawl, PAPI and https_ok are one observation each: no sampling error is modelled.
with probes as (
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
),
survey_spread as (
    select period, measure, {{ exact_stddev_pop('value') }} as spread
    from {{ ref('int_survey_answers') }}
    group by all
),
survey_errors as (
    select a.portal_id, a.period, a.measure, count(*) as units, any_value(s.spread) / sqrt(count(*)) as standard_error
    from {{ ref('int_survey_answers') }} as a
    join survey_spread as s using (period, measure)
    group by all
)
select portal_id, period, measure, 'probes' as source, units, standard_error from probe_errors
union all
select portal_id, period, measure, 'survey', units, standard_error from survey_errors
