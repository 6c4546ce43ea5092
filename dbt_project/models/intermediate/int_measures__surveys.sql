-- Survey measures per portal and period: shares of tests, and the mean satisfaction.
with tests as (
    select
        *,
        file_name || ' / ' || sheet || ' / row ' || row_number as cell
    from {{ ref('stg_surveys__responses') }}
    where is_current
),
measures as (
    select portal_id, period, 'completed_online' as measure,
           avg(completed_online::int) as value, string_agg(cell, '; ' order by cell) as evidence
    from tests where test_type = 'service' and completed_online is not null group by all
    union all
    select portal_id, period, 'no_original_papers',
           avg((not original_papers_demanded)::int), string_agg(cell, '; ' order by cell)
    from tests where test_type = 'service' and original_papers_demanded is not null group by all
    union all
    select portal_id, period, 'result_online',
           avg(result_online::int), string_agg(cell, '; ' order by cell)
    from tests where test_type = 'service' and result_online is not null group by all
    union all
    select portal_id, period, 'submit_before_payment',
           avg((not payment_before_submission)::int), string_agg(cell, '; ' order by cell)
    from tests where test_type = 'service' and payment_before_submission is not null group by all
    union all
    select portal_id, period, 'satisfaction',
           avg(satisfaction), string_agg(cell, '; ' order by cell)
    from tests where satisfaction is not null group by all
    union all
    select portal_id, period, 'screen_reader_completed',
           avg(screen_reader_completed::int), string_agg(cell, '; ' order by cell)
    from tests where screen_reader_completed is not null group by all
    union all
    select portal_id, period, 'ethnic_language_content',
           avg(ethnic_language_content::int), string_agg(cell, '; ' order by cell)
    from tests where ethnic_language_content is not null group by all
)
select portal_id, period, measure, cast(value as double) as value, 'survey' as source, evidence
from measures
