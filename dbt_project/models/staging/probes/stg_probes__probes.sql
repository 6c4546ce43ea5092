-- One row per probe. The same probe (portal, URL, time) can only come twice from two snapshots
-- whose probe times overlap (a probe file repeating a probe is rejected when it is loaded), so only
-- the rows of such snapshots are de-duplicated, the most recently landed winning: tens of millions
-- of hourly probes are not sorted to find the few that could repeat. Each probe says the vantage it
-- was measured from (docs/probes.md, "Vantage points"), and whether that vantage is a scoring one.
with spans as (  -- computed on each read: a table of spans built by dbt could be stale in a build of a subset
    select snapshot_sha256, min(probed_at) as first_probe, max(probed_at) as last_probe
    from {{ source('raw', 'probes') }}
    group by all
),
overlapping as (
    select distinct a.snapshot_sha256
    from spans as a
    join spans as b
      on a.snapshot_sha256 <> b.snapshot_sha256
     and a.first_probe <= b.last_probe
     and b.first_probe <= a.last_probe
),
deduplicated as (
    select * from {{ source('raw', 'probes') }}
    where snapshot_sha256 not in (select snapshot_sha256 from overlapping)
    union all
    select * from {{ source('raw', 'probes') }}
    where snapshot_sha256 in (select snapshot_sha256 from overlapping)
    qualify row_number() over (
        partition by portal_id, url, probed_at, coalesce(vantage, 'local')
        order by snapshot_landed_at desc, snapshot_sha256 desc
    ) = 1
)
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
    tls_fault,
    error,
    detail,
    url_kind,
    -- where it was measured from; a file from before vantages existed is the local prober's
    coalesce(lower(trim(d.vantage)), 'local') as vantage,
    -- the scoring basis: probes of a vantage the seed marks scoring (an unknown vantage is not)
    coalesce(v.scoring, false) as is_scoring,
    retry_of,
    coalesce(retry_of, probed_at) as attempt_of,  -- a retry and its first attempt are one probe
    (error is null and status between 200 and 399) as is_success,
    snapshot_sha256
from deduplicated as d
left join {{ ref('vantages') }} as v on v.vantage = coalesce(lower(trim(d.vantage)), 'local')
