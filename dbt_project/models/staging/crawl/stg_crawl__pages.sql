-- One row per fetch of a crawl (robots.txt, page, sitemap, search); the period comes from the fetch time.
-- The de-duplication key holds depth and role (equal in every copy of a fetch), so that a filter on
-- them, or on the fetch time, is applied before the rows are ranked.
-- raw.crawl_pages is filled by the same loader asset (crawl_results), from the same snapshots, as
-- raw.crawl_signals; Dagster allows one dbt source per asset, so this line ties the model to it:
-- depends_on: {{ source('raw', 'crawl_signals') }}
select
    crawl_id,
    portal_id,
    url,
    final_url,
    fetched_at,
    {{ period_of('fetched_at') }} as period,
    role,
    depth,
    status,
    error,
    content_type,
    bytes,
    elapsed_ms,
    attempts,
    redirects,
    warc_file,
    snapshot_sha256
from {{ source('raw', 'crawl_pages') }}
qualify row_number() over (
    partition by crawl_id, portal_id, url, fetched_at, depth, role order by snapshot_landed_at desc
) = 1
