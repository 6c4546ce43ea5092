-- Probe outcomes per portal and period: the number of successful probes (error_class null) and of
-- failed probes by error class. When no probe of a period succeeded, the most frequent class is why
-- its probe timings are not measurable (docs/methodology.md, "Measured, not measurable, and why").
-- Incremental by period, like int_measures__probes: the probes are not scanned again by every build.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='period',
          on_schema_change='append_new_columns') }}
with loads as (
    {{ accepted_snapshots('probes') }}
),
probes as (
    select portal_id, period, is_success, error, status
    from {{ ref('stg_probes__probes') }}
    where is_scoring  -- the scoring basis: probes of scoring vantages (seed vantages)
    {%- if incremental_since('probes_loaded_through') %}
      and {{ in_periods('probed_at', changed_periods('probes', 'probes', 'probed_at', 'probes_loaded_through')) }}
    {%- endif %}
)
select
    portal_id,
    period,
    case when not is_success then coalesce(error, 'http_' || cast(status as varchar), 'no_response') end as error_class,
    count(*) as probes,
    (select max(loaded_at) from loads) as probes_loaded_through
from probes
group by all
