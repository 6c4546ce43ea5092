-- PAPI dimension scores per province (the 63-province list PAPI publishes) and year, ranked per
-- year and dimension with competition ranking (1, 2, 2, 4) on scores rounded to 2 decimals.
select
    '63-' || s.province_code as province_id,
    s.province_code,
    p.name_vi as province_name_vi,
    s.year,
    s.dimension,
    s.score,
    rank() over (partition by s.year, s.dimension order by round(s.score, 2) desc) as rank,
    count(*) over (partition by s.year, s.dimension) as provinces_ranked,
    s.file_name || coalesce(' / ' || s.sheet, '') || ' row ' || s.row_number as evidence
from {{ ref('stg_papi__scores') }} as s
join {{ ref('provinces_63') }} as p using (province_code)
where s.is_canonical
