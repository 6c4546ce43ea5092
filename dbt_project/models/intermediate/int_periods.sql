-- The assessment periods: every half-year in which a crawl, probe or survey test took place.
-- Read from the per-period measures, not the raw rows: tens of millions of probes are scanned once,
-- by the incremental probe model, not again by every build that touches the periods.
with observed as (
    select period from {{ ref('int_measures__crawl') }}
    union select period from {{ ref('int_measures__probes') }}
    union select period from {{ ref('stg_surveys__responses') }}
)
select
    period,
    {{ period_start('period') }} as period_start,
    {{ period_end('period') }} as period_end
from observed
