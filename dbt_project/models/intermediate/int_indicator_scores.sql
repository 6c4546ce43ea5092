-- One row per methodology version x portal x period x applicable indicator: every period is scored
-- under every version of the methodology (docs/methodology.md, "Methodology versions"). An
-- indicator that does not apply to a portal has no row at all (not applicable is not missing); one
-- that applies but has no data has raw_value null and score null (missing is reported, never
-- zero), is not_measurable and says why.
with applicable as (
    select pp.portal_id, pp.period, pp.kind, pp.owner_type, c.*
    from {{ ref('int_portal_periods') }} as pp
    join {{ ref('indicator_catalog') }} as c
      on c.applies_to = 'both'
      or c.applies_to = pp.kind
      or (c.applies_to = 'province' and pp.owner_type = 'province')
),
valued as (
    select
        a.methodology_version,
        a.portal_id,
        a.period,
        a.indicator_id,
        a.pillar,
        a.source,
        a.weight,
        a.normalisation,
        a.best,
        a.worst,
        {{ exact_avg('m.value') }} as raw_value,
        string_agg(distinct m.evidence, ' | ' order by m.evidence) filter (where m.evidence is not null) as evidence
    from applicable as a
    left join {{ ref('int_measures') }} as m
      on m.portal_id = a.portal_id
     and m.period = a.period
     and m.measure like a.measure
    group by all
)
select
    v.*,
    {{ normalise('v.raw_value', 'v.normalisation', 'v.best', 'v.worst') }} as score,
    v.raw_value is not null as has_data,
    -- nothing measured is guessed: a value we could not obtain is not_measurable, with the reason
    -- its source recorded (int_status_reasons), never a 0
    case when v.raw_value is not null then 'measured' else 'not_measurable' end as measurement_status,
    case when v.raw_value is null then coalesce(r.status_reason, 'no_data') end as status_reason
from valued as v
left join {{ ref('int_status_reasons') }} as r
    on r.portal_id = v.portal_id and r.period = v.period and r.source = v.source
