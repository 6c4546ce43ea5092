-- Every measure from every source, one row per portal x period x measure.
-- Accessibility (A01): where a portal has a browser audit in the period, its `a11y.audit` measure
-- replaces the crawl's structural checks (`a11y.*`); the crawl checks remain the fallback.
with crawl as (
    select c.* exclude (crawl_loaded_through)
    from {{ ref('int_measures__crawl') }} as c
    where not (c.measure like 'a11y.%' and exists (
        select 1 from {{ ref('int_measures__audits') }} as a
        where a.portal_id = c.portal_id and a.period = c.period and a.measure = 'a11y.audit'))
)
select * from crawl
union all by name
select * from {{ ref('int_measures__audits') }}
union all by name
select * exclude (probes_loaded_through) from {{ ref('int_measures__probes') }}
union all by name
select * from {{ ref('int_measures__surveys') }}
union all by name
select * from {{ ref('int_measures__papi') }}
