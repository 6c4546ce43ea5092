-- Per portal, period and vantage (every vantage, scoring or not): how many probes, the
-- availability (a probe and its retry are one attempt; a wall's answer is not an attempt) and the
-- median time to first byte, as int_measures__probes computes them for the scoring vantages; and
-- whether the portal looks geo-blocked from this vantage: at most `geo_block_down_max` available
-- here while another vantage saw it up at least `geo_block_up_min` of the time in the same period
-- (dbt_project.yml vars; docs/probes.md, "Vantage points"). A fault of the network between a
-- vantage and the portal is then not read as a fault of the portal: only scoring vantages score.
-- Incremental by period, like int_measures__probes: a build recomputes only the periods of the probe
-- snapshots loaded since the last one (every vantage of such a period, so the flags compare them all).
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='period',
          on_schema_change='append_new_columns') }}
with loads as (
    {{ accepted_snapshots('probes') }}
),
probes as not materialized (  -- each use scans the view again: cheaper than keeping 44 million rows
    select * from {{ ref('stg_probes__probes') }}
    {%- if incremental_since('probes_loaded_through') %}
    where {{ in_periods('probed_at', changed_periods('probes', 'probes', 'probed_at', 'probes_loaded_through')) }}
    {%- endif %}
),
{{ probe_attempts() }},
availability as (
    select portal_id, period, vantage, count(*) as attempts, avg(case when up then 1.0 else 0.0 end) as availability
    from attempts
    group by all
),
timings as (
    select
        portal_id,
        period,
        vantage,
        count(*) as probes,
        {{ quantile_of('ttfb_ms', 0.5, 'is_success') }} as ttfb_median_ms,
        bool_or(is_scoring) as is_scoring
    from probes
    group by all
),
joined as (
    select t.portal_id, t.period, t.vantage, t.is_scoring, t.probes, a.attempts, a.availability, t.ttfb_median_ms
    from timings as t
    left join availability as a using (portal_id, period, vantage)
)
select
    j.*,
    j.availability <= {{ var('geo_block_down_max') }} and exists (
        select 1 from joined as o
        where o.portal_id = j.portal_id and o.period = j.period and o.vantage <> j.vantage
          and o.availability >= {{ var('geo_block_up_min') }}
    ) as geo_block_suspected,
    (select max(loaded_at) from loads) as probes_loaded_through
from joined as j
