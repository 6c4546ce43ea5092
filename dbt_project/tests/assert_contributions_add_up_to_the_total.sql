-- A failing row is a portal-period whose indicators' published contributions do not add up to its
-- published total (each is rounded: 0.01 of slack), under one methodology version.
{{ config(meta={'dagster': {'ref': {'name': 'indicator_values'}}}) }}
select s.methodology_version, s.portal_id, s.period, s.total, v.contributions
from {{ ref('portal_scores') }} as s
join (
    select methodology_version, portal_id, period, sum(contribution) as contributions
    from {{ ref('indicator_values') }}
    group by all
) as v using (methodology_version, portal_id, period)
where s.total is not null and abs(s.total - v.contributions) > 0.01
