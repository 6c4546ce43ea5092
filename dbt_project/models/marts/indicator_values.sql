-- One row per portal x period x applicable indicator: raw value, normalised score, weight, source,
-- measurement status and, when not measurable, why; evidence.
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
    {{ methodology_version() }} as methodology_version
from {{ ref('int_indicator_scores') }} as s
