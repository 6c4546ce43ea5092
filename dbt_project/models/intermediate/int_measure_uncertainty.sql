-- How precise the measures are that are samples (docs/methodology.md, "How sure"): one row per
-- portal, period and sampled measure with its standard error, from resampling units.
-- Probes: the units are the days of probing (Vietnam days) when a portal's probes of the period
-- span two days or more, else the single probes (one round of probing, as in the demo); a unit's
-- availability, median time to first byte and 95th percentile of the total time are taken, and the
-- standard error of the period's value is the bootstrap's for a mean of units: their population
-- standard deviation / sqrt(units). First attempts only (a retry belongs to its attempt), walls
-- excluded, as for the measures themselves. (The probes' part: int_measure_uncertainty__probes,
-- incremental by period.)
-- Survey answers: a portal has one or two tests per measure, too few for a spread of its own, so
-- the spread of the measure's answers over every portal in the period stands in (an upper bound:
-- it counts differences between portals as noise), divided by sqrt(the portal's answers).
-- Crawl, PAPI and https_ok are one observation each: no sampling error is modelled.
with survey_spread as (
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
select portal_id, period, measure, 'probes' as source, units, standard_error from {{ ref('int_measure_uncertainty__probes') }}
union all
select portal_id, period, measure, 'survey', units, standard_error from survey_errors
