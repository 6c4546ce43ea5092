-- Pillar scores per methodology version: 100 x sum(weight x score) / sum(weight) over the
-- applicable indicators with data, and the weights needed for coverage (applicable weight with
-- data / applicable weight). The sums are exact (macros/exact_aggregates.sql): the same in every build.
select
    methodology_version,
    portal_id,
    period,
    pillar,
    100.0 * {{ exact_sum('weight * score', 'has_data') }} / nullif({{ exact_sum('weight', 'has_data') }}, 0) as pillar_score,
    coalesce({{ exact_sum('weight', 'has_data') }}, 0) as weight_with_data,
    {{ exact_sum('weight') }} as weight_applicable
from {{ ref('int_indicator_scores') }}
group by all
