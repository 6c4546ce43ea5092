-- Crawl signals of the latest crawl of each portal in each period, one row per signal (measure).
with latest as (
    select portal_id, period, max(crawl_id) as crawl_id
    from {{ ref('stg_crawl__signals') }}
    group by all
)
select
    s.portal_id,
    s.period,
    s.signal_id as measure,
    s.value,
    'crawl' as source,
    coalesce(s.evidence_url || case when s.evidence_text is not null then ' («' || s.evidence_text || '»)' else '' end,
             s.crawl_id) as evidence
from {{ ref('stg_crawl__signals') }} as s
join latest using (portal_id, period, crawl_id)
where s.value is not null
