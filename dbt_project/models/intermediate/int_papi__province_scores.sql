-- PAPI dimension scores for provinces of both administrative maps.
-- PAPI publishes by the 63 provinces (even in 2024); a 34-era province gets the unweighted mean of
-- the old provinces merged into it (population weights are not in the registry yet).
select
    '63-' || province_code as province_id,
    year,
    dimension,
    score,
    1 as provinces_averaged,
    'PAPI ' || year || ' D' || dimension || ': ' || province_code || ' (' || file_name || ' row ' || row_number || ')' as evidence
from {{ ref('stg_papi__scores') }}
where is_canonical
union all
select
    '34-' || cw.new_province_code as province_id,
    s.year,
    s.dimension,
    {{ exact_avg('s.score') }} as score,
    count(*) as provinces_averaged,
    'PAPI ' || s.year || ' D' || s.dimension || ': mean of ' || string_agg(s.province_code, ', ' order by s.province_code) as evidence
from {{ ref('stg_papi__scores') }} as s
join {{ ref('province_crosswalk') }} as cw on cw.old_province_code = s.province_code
where s.is_canonical
group by cw.new_province_code, s.year, s.dimension
