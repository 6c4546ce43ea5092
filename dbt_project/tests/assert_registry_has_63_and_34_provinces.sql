-- A failing row means a province list does not have the number of units the law gives it.
{{ config(meta={'dagster': {'ref': {'name': 'provinces_63'}}}) }}
select '63' as era, count(*) as n from {{ ref('provinces_63') }} having count(*) <> 63
union all
select '34', count(*) from {{ ref('provinces_34') }} having count(*) <> 34
