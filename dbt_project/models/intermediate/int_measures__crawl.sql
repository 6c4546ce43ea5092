-- Crawl signals of the latest crawl of each portal in each period, one row per signal (measure).
-- Evidence found in a page's rendered DOM (an app shell that scripts build) is marked [rendered].
-- Incremental by period: a build recomputes only the periods that crawl snapshots loaded since the
-- previous build fall in (a re-extraction loads them again, so their periods are recomputed).
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='period',
          on_schema_change='append_new_columns') }}
with loads as (
    {{ accepted_snapshots('crawl') }}
),
signals as (
    select *
    from {{ ref('stg_crawl__signals') }}
    {%- if incremental_since('crawl_loaded_through') %}
    where {{ in_periods('crawled_at', changed_periods('crawl', 'crawl_signals', 'crawled_at', 'crawl_loaded_through')) }}
    {%- endif %}
),
latest as (
    select portal_id, period, max(crawl_id) as crawl_id
    from signals
    group by all
)
select
    s.portal_id,
    s.period,
    s.signal_id as measure,
    s.value,
    'crawl' as source,
    coalesce(s.evidence_url || case when s.evidence_text is not null then ' («' || s.evidence_text || '»)' else '' end
             || case when s.read_as = 'rendered' then ' [rendered]' else '' end,
             s.crawl_id) as evidence,
    (select max(loaded_at) from loads) as crawl_loaded_through
from signals as s
join latest using (portal_id, period, crawl_id)
where s.value is not null
