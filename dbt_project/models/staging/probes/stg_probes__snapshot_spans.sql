-- The time each probe snapshot's probes span: its first and last probe. stg_probes__probes
-- de-duplicates only the snapshots whose spans overlap, and the probe models read that view several
-- times each; kept as a table, the spans are computed once per build (about a second for each read
-- of 44 million probes at 10,000 portals, docs/performance.md), not once per read.
{{ config(materialized='table') }}
select snapshot_sha256, min(probed_at) as first_probe, max(probed_at) as last_probe
from {{ source('raw', 'probes') }}
group by all
