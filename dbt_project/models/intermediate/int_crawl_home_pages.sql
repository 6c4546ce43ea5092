-- The home page of each crawl of each portal and what it answered: when it gave no page, its error
-- class, which is why that crawl has no signals (docs/methodology.md, "Measured, not measurable,
-- and why"). Incremental by period, like int_measures__crawl.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='period',
          on_schema_change='append_new_columns') }}
with loads as (
    {{ accepted_snapshots('crawl') }}
),
fetches as (  -- the fetches at depth 0: the home page and robots.txt (a filter applied before staging ranks rows)
    select
        *,
        -- another crawler's rows may have no role: its robots.txt is known by its path
        coalesce(role, case when url like '%/robots.txt' then 'robots' else 'page' end) as fetch_role
    from {{ ref('stg_crawl__pages') }}
    where depth = 0
    {%- if incremental_since('crawl_loaded_through') %}
      and ({{ in_periods('fetched_at', changed_periods('crawl', 'crawl_pages', 'fetched_at', 'crawl_loaded_through')) }})
    {%- endif %}
),
crawls as (
    select
        crawl_id,
        portal_id,
        period,
        arg_min({'url': url, 'status': status, 'error': error}, fetched_at)
            filter (where fetch_role = 'page') as home,
        arg_min({'status': status, 'error': error}, fetched_at) filter (where fetch_role = 'robots') as robots
    from fetches
    group by all
)
select
    crawl_id,
    portal_id,
    period,
    home.url as home_url,
    home.status as home_status,
    home.error as home_error,
    robots.status as robots_status,
    robots.error as robots_error,
    case
        -- robots.txt unreachable or failing (5xx) means "disallow all" (RFC 9309): the failure is the cause
        when home.error = 'robots_disallowed' and (robots.error is not null or robots.status >= 500)
            then coalesce(robots.error, 'http_' || cast(robots.status as varchar))
        when home.error is not null then home.error
        when home.status <> 200 then 'http_' || cast(home.status as varchar)
    end as error_class,
    (select max(loaded_at) from loads) as crawl_loaded_through
from crawls
