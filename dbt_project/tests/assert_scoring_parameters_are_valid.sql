-- A failing row is a methodology version whose scoring parameters are missing or out of range:
-- coverage_min a share in (0, 1]; interval_level a share in (0, 1) (a percent typed for a share,
-- such as 90, would make an interval of nothing); interval_replicates a whole number of at least
-- 100 (fewer draws give a percentile of noise); grade letters exactly A to E (the letters are
-- fixed across versions, only their lowest totals change: docs/methodology.md, section 1.1).
{{ config(meta={'dagster': {'ref': {'name': 'scoring_parameters'}}}) }}
with params as (
    select
        v.methodology_version,
        max(try_cast(p.value as double)) filter (where p.parameter = 'coverage_min') as coverage_min,
        max(try_cast(p.value as double)) filter (where p.parameter = 'interval_level') as interval_level,
        max(try_cast(p.value as double)) filter (where p.parameter = 'interval_replicates') as interval_replicates
    from {{ ref('methodology_versions') }} as v
    left join {{ ref('scoring_parameters') }} as p using (methodology_version)
    group by all
),
letters as (
    select v.methodology_version, string_agg(b.grade, '' order by b.grade) as grades
    from {{ ref('methodology_versions') }} as v
    left join {{ ref('grade_bands') }} as b using (methodology_version)
    group by all
)
select methodology_version, 'coverage_min' as parameter, coverage_min as value
from params where coverage_min is null or not (coverage_min > 0 and coverage_min <= 1)
union all
select methodology_version, 'interval_level', interval_level
from params where interval_level is null or not (interval_level > 0 and interval_level < 1)
union all
select methodology_version, 'interval_replicates', interval_replicates
from params where interval_replicates is null or interval_replicates < 100 or interval_replicates <> floor(interval_replicates)
union all
select methodology_version, 'grade letters ' || coalesce(grades, '(none)'), null
from letters where grades is distinct from 'ABCDE'
