-- A05: PAPI e-governance (dimension 8) of the portal's owning province, latest year <= the period's year.
select
    pp.portal_id,
    pp.period,
    'papi_d8' as measure,
    ps.score as value,
    'papi' as source,
    ps.evidence
from {{ ref('int_portal_periods') }} as pp
join {{ ref('int_papi__province_scores') }} as ps
    on ps.province_id = pp.owner_province_id
   and ps.dimension = 8
   and ps.year <= year(pp.period_start)
where pp.owner_type = 'province'
qualify row_number() over (partition by pp.portal_id, pp.period order by ps.year desc) = 1
