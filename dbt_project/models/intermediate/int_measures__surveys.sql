-- Survey measures per portal and period: shares of tests, and the mean satisfaction (the answers
-- and what each measure counts are in int_survey_answers).
select
    portal_id,
    period,
    measure,
    {{ exact_avg('value') }} as value,
    'survey' as source,
    string_agg(cell, '; ' order by cell) as evidence
from {{ ref('int_survey_answers') }}
group by portal_id, period, measure
