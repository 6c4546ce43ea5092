-- One row per methodology version x period x portal assessed in that period or in the period
-- before it: what changed since the previous period and why (docs/methodology.md, "Changes
-- explained"). A portal in both periods has its grade and total before and after, and the three
-- indicators whose contributions to the total changed most (in points, by absolute change: their
-- changes add up, with the others', to the change of the total). A portal only in the later period
-- is new; one only in the earlier period was removed, and when the province that owned it was
-- merged in 2025 (a 63-era owner, a 34-era period), the province it became part of is named. A
-- portal not graded in one of the two periods has the reason it was not graded instead of
-- indicators: what changed is what could be measured, not how well the portal did.
with periods as (
    select period, lag(period) over (order by period) as previous_period
    from {{ ref('int_periods') }}
),
now as (  -- each portal-period with the period before it
    select s.methodology_version, p.period, p.previous_period, s.portal_id, s.grade, s.total, s.status_reason
    from {{ ref('portal_scores') }} as s
    join periods as p on p.period = s.period
    where p.previous_period is not null
),
before as (  -- each portal-period, as the previous period of the period after it
    select
        s.methodology_version, p.period, p.previous_period, s.portal_id, s.grade, s.total, s.owner_province_id,
        s.status_reason
    from {{ ref('portal_scores') }} as s
    join periods as p on p.previous_period = s.period
),
pairs as (
    select
        methodology_version,
        period,
        coalesce(n.previous_period, b.previous_period) as previous_period,
        portal_id,
        b.grade as previous_grade,
        n.grade,
        b.total as previous_total,
        n.total,
        b.owner_province_id as previous_owner_province_id,
        -- a grade lost to missing data, or won back: the reason, not the contributions, explains it
        case when n.portal_id is null or b.portal_id is null then null
             when n.grade = 'insufficient_data' then n.status_reason
             when b.grade = 'insufficient_data' then b.status_reason end as status_reason,
        case
            when b.portal_id is null then 'new'
            when n.portal_id is null then 'removed'
            when b.grade is distinct from n.grade then 'grade_changed'
            else 'same_grade'
        end as change_kind
    from now as n
    full join before as b using (methodology_version, period, portal_id)
),
contribution_changes as (  -- per indicator: its contribution now minus its contribution before
    select
        coalesce(n.methodology_version, b.methodology_version) as methodology_version,
        coalesce(n.period, b.next_period) as period,
        coalesce(n.portal_id, b.portal_id) as portal_id,
        coalesce(n.indicator_id, b.indicator_id) as indicator_id,
        coalesce(n.contribution, 0) - coalesce(b.contribution, 0) as points
    from (
        select v.*, p.period as next_period
        from {{ ref('indicator_values') }} as v join periods as p on p.previous_period = v.period
    ) as b
    full join (
        select v.* from {{ ref('indicator_values') }} as v
        join periods as p on p.period = v.period where p.previous_period is not null
    ) as n
      on n.methodology_version = b.methodology_version and n.period = b.next_period
     and n.portal_id = b.portal_id and n.indicator_id = b.indicator_id
    where n.contribution is not null or b.contribution is not null
),
top as (
    select
        methodology_version,
        period,
        portal_id,
        indicator_id,
        round(points, 2) as points,
        row_number() over (
            partition by methodology_version, period, portal_id order by abs(points) desc, indicator_id
        ) as place
    from contribution_changes
    where round(points, 2) <> 0
),
main as (
    select
        methodology_version,
        period,
        portal_id,
        max(indicator_id) filter (where place = 1) as indicator_1,
        max(points) filter (where place = 1) as points_1,
        max(indicator_id) filter (where place = 2) as indicator_2,
        max(points) filter (where place = 2) as points_2,
        max(indicator_id) filter (where place = 3) as indicator_3,
        max(points) filter (where place = 3) as points_3
    from top
    where place <= 3
    group by all
)
select
    c.period,
    c.previous_period,
    c.portal_id,
    c.change_kind,
    c.previous_grade,
    c.grade,
    c.previous_total,
    c.total,
    c.total - c.previous_total as total_change,
    m.indicator_1,
    m.points_1,
    m.indicator_2,
    m.points_2,
    m.indicator_3,
    m.points_3,
    case when c.change_kind = 'removed' and c.previous_owner_province_id like '63-%'
              and pv.period_start >= date '{{ var("province_merger_date") }}'
         then pr.successor_province_id end as merged_into_province_id,
    c.status_reason,
    c.methodology_version
from pairs as c
left join main as m
  on c.change_kind in ('grade_changed', 'same_grade')
 and c.status_reason is null
 and m.methodology_version = c.methodology_version and m.period = c.period and m.portal_id = c.portal_id
left join {{ ref('int_periods') }} as pv on pv.period = c.period
left join {{ ref('provinces') }} as pr on pr.province_id = c.previous_owner_province_id
