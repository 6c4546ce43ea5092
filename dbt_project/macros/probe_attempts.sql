{#- The availability rule's one home (docs/methodology.md, P01): the CTEs `retried` and `attempts`
    over a relation `probes` of stg_probes__probes rows. A probe never retried is one attempt by
    itself; a retried probe and its retries are one together (up if any of them succeeded); a probe
    a bot wall answered measured the wall, not the portal: it is not an attempt. Attempts keep
    portal_id, period and vantage (a retry belongs to its own vantage's first attempt). -#}
{% macro probe_attempts(probes='probes') -%}
retried as (  -- the few first attempts that were tried again
    select distinct portal_id, url, vantage, retry_of as probed_at from {{ probes }} where retry_of is not null
),
attempts as (
    select p.portal_id, p.period, p.vantage, p.is_success as up
    from {{ probes }} as p
    anti join retried as r
      on r.portal_id = p.portal_id and r.url = p.url and r.vantage is not distinct from p.vantage
     and r.probed_at = p.probed_at
    where p.retry_of is null and p.error is distinct from 'blocked'
    union all
    select p.portal_id, p.period, p.vantage, bool_or(p.is_success)
    from {{ probes }} as p
    semi join retried as r
      on r.portal_id = p.portal_id and r.url = p.url and r.vantage is not distinct from p.vantage
     and r.probed_at = p.attempt_of
    where p.error is distinct from 'blocked'
    group by p.portal_id, p.period, p.vantage, p.url, p.attempt_of
)
{%- endmacro %}
