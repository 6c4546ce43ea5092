-- A failing row is a pillar whose indicator weights do not add up to the pillar's weight,
-- or a set of pillar weights that does not add up to 100.
{{ config(meta={'dagster': {'ref': {'name': 'indicator_catalog'}}}) }}
select p.pillar, p.weight as pillar_weight, sum(c.weight) as indicator_weights
from {{ ref('pillars') }} as p
left join {{ ref('indicator_catalog') }} as c using (pillar)
group by all
having sum(c.weight) is distinct from p.weight
union all
select 'all pillars', sum(weight), null from {{ ref('pillars') }} having sum(weight) <> 100
