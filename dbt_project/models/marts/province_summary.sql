-- Per province and period, in both administrative maps: its portals' totals and grades. A portal
-- counts for its province of each era (portals.province_id_63 and province_id_34), so after the
-- 2025 merger a 34-era province can be compared with the 63-era provinces it was made of (the
-- rows whose successor_province_id is that province, in the same period).
with scores as (
    select s.methodology_version, s.period, s.portal_id, s.total, s.grade, p.province_id_63, p.province_id_34
    from {{ ref('portal_scores') }} as s
    join {{ ref('portals') }} as p using (portal_id)
    where s.owner_type = 'province'
),
both_eras as (
    select methodology_version, period, province_id_63 as province_id, portal_id, total, grade
    from scores where province_id_63 is not null
    union all
    select methodology_version, period, province_id_34, portal_id, total, grade
    from scores where province_id_34 is not null
)
select
    b.period,
    b.province_id,
    pr.era,
    pr.name_vi,
    pr.name_en,
    pr.successor_province_id,
    count(*) as portals,
    count(*) filter (where b.grade <> 'insufficient_data') as graded,
    cast(round(avg(b.total), 2) as decimal(5, 2)) as mean_total,
    min(b.total) as min_total,
    max(b.total) as max_total,
    count(*) filter (where b.grade = 'A') as grade_a,
    count(*) filter (where b.grade = 'B') as grade_b,
    count(*) filter (where b.grade = 'C') as grade_c,
    count(*) filter (where b.grade = 'D') as grade_d,
    count(*) filter (where b.grade = 'E') as grade_e,
    count(*) filter (where b.grade = 'insufficient_data') as not_graded,
    b.methodology_version
from both_eras as b
join {{ ref('provinces') }} as pr using (province_id)
group by all
