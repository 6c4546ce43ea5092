-- One row per portal x period x applicable indicator. An indicator that does not apply to a portal
-- has no row at all (not applicable is not missing); one that applies but has no data has
-- raw_value null and score null (missing is reported, never zero).
with applicable as (
    select pp.portal_id, pp.period, pp.kind, pp.owner_type, c.*
    from {{ ref('int_portal_periods') }} as pp
    join {{ ref('indicator_catalog') }} as c
      on c.applies_to = 'both'
      or c.applies_to = pp.kind
      or (c.applies_to = 'province' and pp.owner_type = 'province')
),
valued as (
    select
        a.portal_id,
        a.period,
        a.indicator_id,
        a.pillar,
        a.source,
        a.weight,
        a.normalisation,
        a.best,
        a.worst,
        avg(m.value) as raw_value,
        string_agg(distinct m.evidence, ' | ' order by m.evidence) filter (where m.evidence is not null) as evidence
    from applicable as a
    left join {{ ref('int_measures') }} as m
      on m.portal_id = a.portal_id
     and m.period = a.period
     and m.measure like a.measure
    group by all
)
select
    *,
    {{ normalise('raw_value', 'normalisation', 'best', 'worst') }} as score,
    raw_value is not null as has_data
from valued
