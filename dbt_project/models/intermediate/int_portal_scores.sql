-- The scores of marts.portal_scores before their intervals and the evaluators' agreement are
-- joined (int_score_intervals needs these, and the mart needs the intervals).
-- One row per methodology version x portal x period: pillar scores, total (0-100), grade, rank among
-- peers, coverage; for a portal not graded, the reason most of its missing weight could not be
-- measured. Every period is scored under every methodology version (docs/methodology.md,
-- "Methodology versions"): ranks and changes compare like with like, within one version.
-- The total is published rounded to 2 decimals; the grade and the rank are taken from that
-- published number, so the number and the letter never disagree.
with params as (
    select
        methodology_version,
        max(value) filter (where parameter = 'coverage_min')::double as coverage_min
    from {{ ref('scoring_parameters') }}
    group by all
),
wide as (
    select
        p.methodology_version,
        p.portal_id,
        p.period,
        max(p.pillar_score) filter (where p.pillar = 'function') as function_score,
        max(p.pillar_score) filter (where p.pillar = 'performance') as performance_score,
        max(p.pillar_score) filter (where p.pillar = 'access') as access_score,
        {{ exact_sum('pw.weight * p.pillar_score', 'p.pillar_score is not null') }}
            / nullif({{ exact_sum('pw.weight', 'p.pillar_score is not null') }}, 0) as total_exact,
        {{ exact_sum('p.weight_with_data') }} / {{ exact_sum('p.weight_applicable') }} as coverage
    from {{ ref('int_portal_scores__pillars') }} as p
    join {{ ref('pillars') }} as pw using (methodology_version, pillar)
    group by all
),
published as (
    select
        w.*,
        round(w.total_exact, 2)::decimal(5, 2) as total,
        w.coverage < params.coverage_min or w.total_exact is null as insufficient
    from wide as w
    join params using (methodology_version)
),
graded as (
    select
        p.*,
        case when p.insufficient then 'insufficient_data' else b.grade end as grade
    from published as p
    left join {{ ref('grade_bands') }} as b
      on b.methodology_version = p.methodology_version and p.total >= b.min_total
    qualify row_number() over (
        partition by p.methodology_version, p.portal_id, p.period order by b.min_total desc nulls last
    ) = 1
),
main_reason as (  -- the reason for the largest share of the applicable weight not measured (ties: alphabetical)
    select methodology_version, portal_id, period, status_reason
    from {{ ref('int_indicator_scores') }}
    where measurement_status = 'not_measurable'
    group by methodology_version, portal_id, period, status_reason
    qualify row_number() over (
        partition by methodology_version, portal_id, period order by {{ exact_sum('weight') }} desc, status_reason
    ) = 1
)
select
    g.portal_id,
    g.period,
    pp.kind,
    pp.owner_type,
    pp.kind || '/' || pp.owner_type as peer_group,
    pp.owner_province_id,
    pp.ministry_code,
    round(g.function_score, 2)::decimal(5, 2) as function_score,
    round(g.performance_score, 2)::decimal(5, 2) as performance_score,
    round(g.access_score, 2)::decimal(5, 2) as access_score,
    g.total,
    g.total_exact,
    g.grade,
    case when g.insufficient then r.status_reason end as status_reason,
    case when not g.insufficient then
        rank() over (
            partition by g.methodology_version, g.period, pp.kind, pp.owner_type, g.insufficient
            order by g.total desc
        )
    end as rank,
    count(*) filter (where not g.insufficient)
        over (partition by g.methodology_version, g.period, pp.kind, pp.owner_type) as peers_ranked,
    round(g.coverage, 4)::decimal(5, 4) as coverage,
    g.total - lag(g.total) over (partition by g.methodology_version, g.portal_id order by g.period)
        as change_since_previous,
    g.methodology_version
from graded as g
join {{ ref('int_portal_periods') }} as pp using (portal_id, period)
left join main_reason as r using (methodology_version, portal_id, period)
