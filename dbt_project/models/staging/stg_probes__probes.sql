select
    portal_id,
    url,
    probed_at,
    {{ period_of('probed_at') }} as period,
    status,
    dns_ms,
    connect_ms,
    tls_ms,
    ttfb_ms,
    total_ms,
    bytes,
    http_version,
    redirects_to_https,
    tls_expires_at,
    error,
    url_kind,
    retry_of,
    coalesce(retry_of, probed_at) as attempt_of,  -- a retry and its first attempt are one probe
    (error is null and status between 200 and 399) as is_success,
    snapshot_sha256
from {{ source('raw', 'probes') }}
qualify row_number() over (partition by portal_id, url, probed_at order by snapshot_landed_at desc) = 1
