-- One row per portal, period and vantage point: availability and median time to first byte as
-- measured from there, whether that vantage is the scoring basis, and whether the portal looks
-- geo-blocked from there (int_probe_vantages; docs/probes.md, "Vantage points").
select
    p.portal_id,
    p.period,
    p.vantage,
    v.inside_vietnam,
    p.is_scoring as scoring,
    p.probes,
    p.attempts,
    round(p.availability, 4)::decimal(5, 4) as availability,
    round(p.ttfb_median_ms, 1) as ttfb_median_ms,
    p.geo_block_suspected
from {{ ref('int_probe_vantages') }} as p
left join {{ ref('vantages') }} as v using (vantage)
