-- A failing row means the ministry list does not give 22 bodies before the 2025 restructuring
-- (on 2025-02-28) or 17 after it (on 2025-03-01).
with counts as (
    select
        count(*) filter (where coalesce(valid_from, date '1900-01-01') <= date '2025-02-28'
                           and coalesce(valid_to, date '9999-12-31') >= date '2025-02-28') as before_2025,
        count(*) filter (where coalesce(valid_from, date '1900-01-01') <= date '2025-03-01'
                           and coalesce(valid_to, date '9999-12-31') >= date '2025-03-01') as after_2025
    from {{ ref('ministries_registry') }}
)
select * from counts where before_2025 <> 22 or after_2025 <> 17
