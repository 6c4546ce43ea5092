-- Pillar scores per methodology version: 100 x sum(weight x score) / sum(weight) over the
-- applicable indicators with data, and the weights needed for coverage (applicable weight with
-- data / applicable weight).
select
    methodology_version,
    portal_id,
    period,
    pillar,
    100.0 * sum(weight * score) filter (where has_data) / nullif(sum(weight) filter (where has_data), 0) as pillar_score,
    coalesce(sum(weight) filter (where has_data), 0) as weight_with_data,
    sum(weight) as weight_applicable
from {{ ref('int_indicator_scores') }}
group by all
