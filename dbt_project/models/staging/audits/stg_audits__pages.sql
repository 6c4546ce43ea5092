-- One row per accessibility audit of a page in headless Chromium (axe-core, WCAG 2.1 A and AA).
select
    portal_id,
    url,
    audited_at,
    {{ period_of('audited_at') }} as period,
    status,
    rules_passed,
    rules_violated,
    lcp_ms,
    cls,
    axe_version,
    error,
    snapshot_sha256
from {{ source('raw', 'a11y_audits') }}
qualify row_number() over (partition by portal_id, url, audited_at order by snapshot_landed_at desc) = 1
