-- A failing row, per methodology version: a pillar whose indicator weights do not add up to the
-- pillar's weight, an indicator whose pillar the version does not have, a set of pillar weights
-- that does not add up to 100, or a version without pillars, grade bands, a coverage threshold or
-- indicators (every version is a whole scoring model).
{{ config(meta={'dagster': {'ref': {'name': 'indicator_catalog'}}}) }}
select p.methodology_version, p.pillar, p.weight as pillar_weight, sum(c.weight) as indicator_weights
from {{ ref('pillars') }} as p
left join {{ ref('indicator_catalog') }} as c using (methodology_version, pillar)
group by all
having sum(c.weight) is distinct from p.weight
union all
select c.methodology_version, c.pillar || ' (indicator ' || c.indicator_id || ': no such pillar)', null, c.weight
from {{ ref('indicator_catalog') }} as c
anti join {{ ref('pillars') }} as p using (methodology_version, pillar)
union all
select methodology_version, 'all pillars', sum(weight), null
from {{ ref('pillars') }}
group by methodology_version
having sum(weight) <> 100
union all
select v.methodology_version, 'incomplete version: ' || concat_ws(', ',
        case when not exists (select 1 from {{ ref('pillars') }} as x where x.methodology_version = v.methodology_version) then 'no pillars' end,
        case when not exists (select 1 from {{ ref('grade_bands') }} as x where x.methodology_version = v.methodology_version) then 'no grade bands' end,
        case when not exists (select 1 from {{ ref('grade_bands') }} as x where x.methodology_version = v.methodology_version and x.min_total = 0) then 'no band from 0' end,
        case when not exists (select 1 from {{ ref('scoring_parameters') }} as x where x.methodology_version = v.methodology_version and x.parameter = 'coverage_min') then 'no coverage_min' end,
        case when not exists (select 1 from {{ ref('indicator_catalog') }} as x where x.methodology_version = v.methodology_version) then 'no indicators' end
    ), null, null
from {{ ref('methodology_versions') }} as v
where not exists (select 1 from {{ ref('pillars') }} as x where x.methodology_version = v.methodology_version)
   or not exists (select 1 from {{ ref('grade_bands') }} as x where x.methodology_version = v.methodology_version and x.min_total = 0)
   or not exists (select 1 from {{ ref('scoring_parameters') }} as x where x.methodology_version = v.methodology_version and x.parameter = 'coverage_min')
   or not exists (select 1 from {{ ref('indicator_catalog') }} as x where x.methodology_version = v.methodology_version)
