select
    portal_id,
    test_type,
    test_date,
    {{ period_of('test_date', local_time=false) }} as period,
    completed_online,
    original_papers_demanded,
    result_online,
    payment_before_submission,
    satisfaction,
    screen_reader_completed,
    ethnic_language_content,
    evaluator,
    file_name,
    sheet,
    row_number,
    snapshot_sha256
from {{ source('raw', 'survey_responses') }}
