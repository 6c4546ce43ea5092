-- A warning row is an error class the crawls or probes recorded that the seed status_reasons does not
-- list (any http_<status> is http_error): it falls back to the seed's default row `other`
-- (unreachable). Add a row for it to give it its own reason.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'status_reasons'}}}) }}
with recorded as (
    select distinct error_class, 'crawl' as source from {{ ref('int_crawl_home_pages') }} where error_class is not null
    union
    select distinct error_class, 'probes' from {{ ref('int_probe_outcomes') }} where error_class is not null
)
select r.error_class, r.source
from recorded as r
where r.error_class not in (select error_class from {{ ref('status_reasons') }})
  and not regexp_full_match(r.error_class, 'http_[0-9]+')
