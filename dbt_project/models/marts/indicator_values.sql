-- One row per methodology version x portal x period x applicable indicator: raw value, normalised
-- score, weight, source, measurement status and, when not measurable, why; evidence; and the points
-- the indicator contributes to the portal's total (int_indicator_contributions: they add up to it).
select
    s.portal_id,
    s.period,
    s.indicator_id,
    s.pillar,
    s.source,
    round(s.raw_value, 6) as raw_value,
    round(s.score, 4) as score,
    s.weight,
    s.has_data,
    s.measurement_status,
    s.status_reason,
    s.evidence,
    s.methodology_version,
    round(c.contribution, 4) as contribution
from {{ ref('int_indicator_scores') }} as s
left join {{ ref('int_indicator_contributions') }} as c using (methodology_version, portal_id, period, indicator_id)
