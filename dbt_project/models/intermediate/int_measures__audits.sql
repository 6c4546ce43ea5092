-- The browser audit per portal and period: the share of applicable WCAG 2.1 A/AA rules (axe-core)
-- that pass, averaged over the portal's audited pages (the latest audit of each page), as measure
-- `a11y.audit`; it replaces the crawl's structural a11y checks for A01 (see int_measures).
-- LCP and CLS are kept as measures too (not scored by model v1).
with latest as (
    select *
    from {{ ref('stg_audits__pages') }}
    where error is null and rules_passed + rules_violated > 0
    qualify row_number() over (partition by portal_id, period, url order by audited_at desc) = 1
),
agg as (
    select
        portal_id,
        period,
        {{ exact_avg('rules_passed / (rules_passed + rules_violated)') }} as "a11y.audit",
        median(lcp_ms) as lcp_ms,
        max(cls) as cls,
        count(*) as pages,
        sum(rules_violated) as violated,
        max(audited_at) as last_audit,
        max(axe_version) as axe_version  -- the greatest by its text: the same in every build
    from latest
    group by all
)
select
    portal_id,
    period,
    measure,
    value,
    'audits' as source,
    pages || ' page(s) audited with axe-core ' || axe_version || ', ' || violated || ' rule(s) violated, '
        || strftime(last_audit, '%Y-%m-%d %H:%M') || ' UTC' as evidence
from agg
unpivot (value for measure in ("a11y.audit", lcp_ms, cls))
