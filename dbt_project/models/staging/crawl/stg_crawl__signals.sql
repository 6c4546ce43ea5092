-- One row per portal x crawl x signal; the assessment period comes from the crawl time.
select
    crawl_id,
    portal_id,
    crawled_at,
    {{ period_of('crawled_at') }} as period,
    signal_id,
    value,
    evidence_url,
    evidence_text,
    coalesce(read_as, 'static') as read_as,  -- crawls loaded before pages were rendered read them as served
    snapshot_sha256
from {{ source('raw', 'crawl_signals') }}
qualify row_number() over (partition by crawl_id, portal_id, signal_id order by snapshot_landed_at desc) = 1
