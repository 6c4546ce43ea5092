-- One row per methodology version x portal x period: pillar scores, total (0-100), grade, rank among
-- peers, coverage, the reason a portal is not graded (int_portal_scores); how sure the total and the
-- rank are (int_score_intervals); how far two evaluators who tested the same service agreed
-- (int_survey_agreement).
select
    s.portal_id,
    s.period,
    s.kind,
    s.owner_type,
    s.peer_group,
    s.owner_province_id,
    s.ministry_code,
    s.function_score,
    s.performance_score,
    s.access_score,
    s.total,
    s.grade,
    s.status_reason,
    s.rank,
    s.peers_ranked,
    s.coverage,
    s.change_since_previous,
    i.total_low,
    i.total_high,
    i.rank_best,
    i.rank_worst,
    i.grade_uncertain,
    i.interval_indicators,
    a.evaluator_pairs,
    a.evaluator_agreement,
    s.methodology_version
from {{ ref('int_portal_scores') }} as s
left join {{ ref('int_score_intervals') }} as i using (methodology_version, portal_id, period)
left join {{ ref('int_survey_agreement') }} as a using (portal_id, period)
