-- Provinces of both administrative maps: the 63 until 2025-06-30, the 34 from 2025-07-01.
select
    '63-' || p.province_code as province_id,
    '63' as era,
    p.province_code,
    p.name_vi,
    p.name_en,
    p.valid_from,
    p.valid_to,
    '34-' || cw.new_province_code as successor_province_id
from {{ ref('provinces_63') }} as p
join {{ ref('province_crosswalk') }} as cw on cw.old_province_code = p.province_code
union all
select
    '34-' || province_code,
    '34',
    province_code,
    name_vi,
    name_en,
    valid_from,
    valid_to,
    null
from {{ ref('provinces_34') }}
