-- How sure the totals and ranks are (docs/methodology.md, "How sure"): per methodology version,
-- portal and period, an interval for the total and for the rank among peers, from `replicates`
-- resampled totals. In each replicate every sampled measure (int_measure_uncertainty: probes and
-- survey answers) is drawn again from a normal distribution around its value with its standard
-- error, scored with the indicator's normalisation, and moves the total by the indicator's
-- coefficient (int_indicator_contributions); the portals of a peer group are ranked again in every
-- replicate. The interval holds the central `level` share of the replicates (nearest-rank
-- percentiles), widened where needed to contain the published total and rank. The draws are
-- hash-based: the same inputs give the same intervals, and a portal's draws are the same under every
-- methodology version. A portal graded insufficient_data has a total interval but no rank interval.
with params as (
    select
        methodology_version,
        max(value) filter (where parameter = 'interval_level')::double as level,
        max(value) filter (where parameter = 'interval_replicates')::integer as replicates
    from {{ ref('scoring_parameters') }}
    group by all
),
sampled as (  -- the measured indicators whose measure is a sample
    select
        s.methodology_version,
        s.portal_id,
        s.period,
        s.indicator_id,
        s.raw_value,
        s.score,
        s.normalisation,
        s.best,
        s.worst,
        c.coefficient,
        u.standard_error
    from {{ ref('int_indicator_scores') }} as s
    join {{ ref('indicator_catalog') }} as cat using (methodology_version, indicator_id)
    join {{ ref('int_indicator_contributions') }} as c using (methodology_version, portal_id, period, indicator_id)
    join {{ ref('int_measure_uncertainty') }} as u
      on u.portal_id = s.portal_id and u.period = s.period and u.measure = cat.measure
    where s.has_data and u.standard_error > 0
),
replicates as (
    select p.methodology_version, r.replicate
    from params as p
    join range(0, (select max(replicates) from params)) as r(replicate) on r.replicate < p.replicates
),
draws as (  -- Box-Muller: two uniform draws from hashes of the draw's identity make one normal draw
    select
        s.*,
        r.replicate,
        s.raw_value + s.standard_error
            * sqrt(-2 * ln((hash(s.portal_id || '|' || s.period || '|' || s.indicator_id || '|' || r.replicate || '|u')
                            % 1000000007 + 0.5) / 1000000007))
            * cos(2 * pi() * (hash(s.portal_id || '|' || s.period || '|' || s.indicator_id || '|' || r.replicate || '|v')
                              % 1000000007 + 0.5) / 1000000007) as raw_draw
    from sampled as s
    join replicates as r using (methodology_version)
),
shifts as (
    select
        methodology_version,
        portal_id,
        period,
        replicate,
        {{ exact_sum("coefficient * (" ~ normalise('raw_draw', 'normalisation', 'best', 'worst') ~ " - score)") }} as shift
    from draws
    group by all
),
totals as (  -- every portal with a total, in every replicate
    select
        s.methodology_version,
        s.portal_id,
        s.period,
        s.kind,
        s.owner_type,
        s.grade <> 'insufficient_data' as graded,
        s.total,
        s.rank,
        r.replicate,
        s.total_exact + coalesce(sh.shift, 0) as total_draw
    from {{ ref('int_portal_scores') }} as s
    join replicates as r using (methodology_version)
    left join shifts as sh using (methodology_version, portal_id, period, replicate)
    where s.total_exact is not null
),
ranked as (
    select
        *,
        case when graded then rank() over (
            partition by methodology_version, period, kind, owner_type, graded, replicate
            order by round(total_draw, 2) desc
        ) end as rank_draw
    from totals
),
placed as (  -- each replicate's place among the portal's replicates, by total and by rank
    select
        *,
        row_number() over (partition by methodology_version, portal_id, period order by total_draw) as total_place,
        row_number() over (partition by methodology_version, portal_id, period order by rank_draw) as rank_place
    from ranked
),
bounds as (
    select
        r.methodology_version,
        r.portal_id,
        r.period,
        any_value(r.total) as total,
        any_value(r.rank) as rank,
        max(r.total_draw) filter (where r.total_place = greatest(1, ceil(p.replicates * (1 - p.level) / 2)))
            as total_low,
        max(r.total_draw) filter (where r.total_place = ceil(p.replicates * (1 + p.level) / 2)) as total_high,
        max(r.rank_draw) filter (where r.rank_place = greatest(1, ceil(p.replicates * (1 - p.level) / 2)))
            as rank_best,
        max(r.rank_draw) filter (where r.rank_place = ceil(p.replicates * (1 + p.level) / 2)) as rank_worst
    from placed as r
    join params as p using (methodology_version)
    group by all
)
select
    b.methodology_version,
    b.portal_id,
    b.period,
    least(round(b.total_low, 2), b.total)::decimal(5, 2) as total_low,
    greatest(round(b.total_high, 2), b.total)::decimal(5, 2) as total_high,
    least(b.rank_best, b.rank) as rank_best,
    greatest(b.rank_worst, b.rank) as rank_worst,
    -- graded, and a grade band starts inside the interval: the grade could be another
    case when b.rank is not null then exists (
        select 1 from {{ ref('grade_bands') }} as g
        where g.methodology_version = b.methodology_version
          and g.min_total > least(round(b.total_low, 2), b.total)
          and g.min_total <= greatest(round(b.total_high, 2), b.total)
    ) end as grade_uncertain,
    i.indicators as interval_indicators
from bounds as b
left join (
    select methodology_version, portal_id, period, string_agg(indicator_id, ' ' order by indicator_id) as indicators
    from sampled
    group by all
) as i using (methodology_version, portal_id, period)
