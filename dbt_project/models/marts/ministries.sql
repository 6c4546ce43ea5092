-- Ministries and ministry-level agencies: 22 before 1 March 2025, 17 after, with successors.
select
    m.ministry_code,
    m.name_vi,
    m.name_en,
    m.valid_from,
    m.valid_to,
    cw.new_ministry_code as successor_ministry_code
from {{ ref('ministries_registry') }} as m
left join {{ ref('ministry_crosswalk') }} as cw on cw.old_ministry_code = m.ministry_code
