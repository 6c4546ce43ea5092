-- What each measured indicator is worth in its portal's total: a pillar score is the weighted mean
-- of its measured indicators and the total the weighted mean of the pillars with a score, so a
-- measured indicator moves the total by `coefficient` points per unit of score, with
-- coefficient = 100 x (its weight / its pillar's measured weight) x (the pillar's weight / the
-- weight of the pillars with a score), and contributes coefficient x score points: the
-- contributions of a portal-period add up to its total (docs/methodology.md, "Changes explained").
-- The interval of the total (int_score_intervals) moves scores with the same coefficients.
with pillar_shares as (
    select
        p.methodology_version,
        p.portal_id,
        p.period,
        p.pillar,
        p.weight_with_data,
        pw.weight / sum(pw.weight) over (partition by p.methodology_version, p.portal_id, p.period) as pillar_share
    from {{ ref('int_portal_scores__pillars') }} as p
    join {{ ref('pillars') }} as pw using (methodology_version, pillar)
    where p.pillar_score is not null
)
select
    s.methodology_version,
    s.portal_id,
    s.period,
    s.indicator_id,
    round(100 * s.weight / ps.weight_with_data * ps.pillar_share, 8) as coefficient,
    round(100 * s.weight / ps.weight_with_data * ps.pillar_share * s.score, 8) as contribution
from {{ ref('int_indicator_scores') }} as s
join pillar_shares as ps using (methodology_version, portal_id, period, pillar)
where s.has_data
