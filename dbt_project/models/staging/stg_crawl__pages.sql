select
    crawl_id,
    portal_id,
    url,
    final_url,
    fetched_at,
    {{ period_of('fetched_at') }} as period,
    status,
    content_type,
    bytes,
    elapsed_ms,
    depth,
    error,
    snapshot_sha256
from {{ source('raw', 'crawl_pages') }}
