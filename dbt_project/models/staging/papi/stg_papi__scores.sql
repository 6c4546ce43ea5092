-- PAPI scores with one canonical value per province, year and dimension, so a year is never counted
-- twice: the year's own workbook wins; else the newest workbook that repeats the year; else a tidy
-- CSV (which has no source year); ties go to the most recently landed file. The other rows stay
-- here, not canonical, with the reason.
with ranked as (
    select
        *,
        row_number() over versions as version_rank,
        first_value(file_name) over versions as canonical_file_name
    from {{ source('raw', 'papi_scores') }}
    window versions as (
        partition by province_code, year, dimension
        order by coalesce(source_year = year, false) desc, source_year desc nulls last,
                 snapshot_landed_at desc, snapshot_sha256 desc
    )
)
select
    province_code,
    province_name_raw,
    year,
    dimension,
    score,
    variant,
    source_year,
    file_name,
    sheet,
    row_number,
    snapshot_sha256,
    version_rank = 1 as is_canonical,
    case when version_rank > 1 then 'the canonical value for this year is in ' || canonical_file_name end
        as not_canonical_reason
from ranked
