-- Every registry portal that was valid at some time during each assessment period.
select
    pp.period,
    pp.period_start,
    pp.period_end,
    p.portal_id,
    p.kind,
    p.owner_type,
    p.province_code_63,
    p.province_code_34,
    p.ministry_code,
    -- the province that owns the portal in that period's administrative map
    case when pp.period_start >= date '{{ var("province_merger_date") }}' then '34-' || p.province_code_34
         else '63-' || p.province_code_63 end as owner_province_id
from {{ ref('stg_registry__portals') }} as p
cross join {{ ref('int_periods') }} as pp
where (p.valid_from is null or p.valid_from <= pp.period_end)
  and (p.valid_to is null or p.valid_to >= pp.period_start)
