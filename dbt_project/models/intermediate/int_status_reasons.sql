-- Why an indicator of each source could not be measured, per portal, period and source: what the
-- source recorded (an error class, or a source-level condition when nothing was collected), mapped
-- to a published reason by the seed status_reasons (docs/methodology.md, "Measured, not measurable,
-- and why"). Used only for the indicators that have no value.
with portal_periods as (
    select portal_id, period from {{ ref('int_portal_periods') }}
),
with_signals as (  -- a crawl gave signals: a crawl indicator still missing had no value in it
    select distinct portal_id, period from {{ ref('int_measures__crawl') }}
),
latest_crawl as (  -- else the latest crawl in the period, and why its home page gave no page
    select portal_id, period, crawl_id, error_class
    from {{ ref('int_crawl_home_pages') }}
    qualify row_number() over (partition by portal_id, period order by crawl_id desc) = 1
),
probed as (
    select portal_id, period, bool_or(error_class is null) as any_success
    from {{ ref('int_probe_outcomes') }}
    group by all
),
top_failure as (  -- no probe succeeded: the most frequent error class (ties: alphabetical)
    select portal_id, period, error_class
    from {{ ref('int_probe_outcomes') }}
    where error_class is not null
    qualify row_number() over (partition by portal_id, period order by probes desc, error_class) = 1
),
causes as (
    select
        pp.portal_id,
        pp.period,
        'crawl' as source,
        case
            when s.portal_id is not null then 'no_data'
            when c.crawl_id is null then 'not_crawled'
            else coalesce(c.error_class, 'no_data')
        end as error_class
    from portal_periods as pp
    left join with_signals as s on s.portal_id = pp.portal_id and s.period = pp.period
    left join latest_crawl as c on c.portal_id = pp.portal_id and c.period = pp.period
    union all
    select
        pp.portal_id,
        pp.period,
        'probes',
        case
            when p.portal_id is null then 'not_probed'
            when p.any_success then 'no_data'
            else coalesce(f.error_class, 'no_data')
        end
    from portal_periods as pp
    left join probed as p on p.portal_id = pp.portal_id and p.period = pp.period
    left join top_failure as f on f.portal_id = pp.portal_id and f.period = pp.period
    union all
    select portal_id, period, 'survey', 'no_test' from portal_periods
    union all
    select portal_id, period, 'papi', 'no_papi' from portal_periods
)
select
    c.portal_id,
    c.period,
    c.source,
    c.error_class,
    -- the class's own row; any http_<status> is http_error; an unlisted class takes the default row
    coalesce(exact.status_reason, http.status_reason, other.status_reason) as status_reason
from causes as c
left join {{ ref('status_reasons') }} as exact on exact.error_class = c.error_class
left join {{ ref('status_reasons') }} as http
    on http.error_class = 'http_error' and regexp_full_match(c.error_class, 'http_[0-9]+')
left join {{ ref('status_reasons') }} as other on other.error_class = 'other'
