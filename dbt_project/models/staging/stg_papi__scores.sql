-- One canonical row per province x year x dimension: when several files carry the same year,
-- the most recently landed snapshot wins, so a year is never counted twice.
select
    province_code,
    province_name_raw,
    year,
    dimension,
    score,
    file_name,
    row_number,
    snapshot_sha256
from {{ source('raw', 'papi_scores') }}
qualify row_number() over (
    partition by province_code, year, dimension order by snapshot_landed_at desc, snapshot_sha256
) = 1
