-- One row per current survey answer that feeds a measure: the answer as a number (a yes/no as 1/0,
-- turned so that 1 is good; a satisfaction 1-5) and the cell it came from. int_measures__surveys
-- averages them per portal and period; int_measure_uncertainty takes their spread.
with tests as (
    select
        *,
        file_name || ' / ' || sheet || ' / row ' || row_number as cell
    from {{ ref('stg_surveys__responses') }}
    where is_current
)
select portal_id, period, 'completed_online' as measure, completed_online::int::double as value, cell
from tests where test_type = 'service' and completed_online is not null
union all
select portal_id, period, 'no_original_papers', (not original_papers_demanded)::int, cell
from tests where test_type = 'service' and original_papers_demanded is not null
union all
select portal_id, period, 'result_online', result_online::int, cell
from tests where test_type = 'service' and result_online is not null
union all
select portal_id, period, 'submit_before_payment', (not payment_before_submission)::int, cell
from tests where test_type = 'service' and payment_before_submission is not null
union all
select portal_id, period, 'satisfaction', satisfaction, cell
from tests where satisfaction is not null
union all
select portal_id, period, 'screen_reader_completed', screen_reader_completed::int, cell
from tests where screen_reader_completed is not null
union all
select portal_id, period, 'ethnic_language_content', ethnic_language_content::int, cell
from tests where ethnic_language_content is not null
