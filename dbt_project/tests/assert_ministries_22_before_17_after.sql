-- A failing row means the ministry list does not give 22 bodies the day before the 2025
-- restructuring or 17 on its first day (var ministry_restructuring_date, dbt_project.yml).
{%- set first_day = "date '" ~ var('ministry_restructuring_date') ~ "'" %}
with counts as (
    select
        count(*) filter (where coalesce(valid_from, date '1900-01-01') <= {{ first_day }} - 1
                           and coalesce(valid_to, date '9999-12-31') >= {{ first_day }} - 1) as before_2025,
        count(*) filter (where coalesce(valid_from, date '1900-01-01') <= {{ first_day }}
                           and coalesce(valid_to, date '9999-12-31') >= {{ first_day }}) as after_2025
    from {{ ref('ministries_registry') }}
)
select * from counts where before_2025 <> 22 or after_2025 <> 17
