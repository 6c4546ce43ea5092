-- Survey rows with the supersede rule: a test is identified by portal, test type, test date and
-- evaluator (compared by identity_key: case, Unicode form and spacing aside); when a later file (by
-- landing time) has a row for the same test, that row is current and the earlier rows stay here,
-- not current, with the reason.
with ranked as (
    select
        *,
        row_number() over test_versions as version_rank,
        first_value(file_name) over test_versions as latest_file_name,
        first_value(snapshot_landed_at) over test_versions as latest_landed_at
    from {{ source('raw', 'survey_responses') }}
    window test_versions as (
        partition by portal_id, test_type, test_date, coalesce({{ identity_key('evaluator') }}, '')
        order by snapshot_landed_at desc, snapshot_sha256 desc
    )
)
select
    portal_id,
    test_type,
    test_date,
    {{ period_of('test_date', local_time=false) }} as period,
    service_name,
    completed_online,
    original_papers_demanded,
    result_online,
    payment_before_submission,
    steps,
    minutes,
    satisfaction,
    screen_reader_completed,
    ethnic_language_content,
    evaluator,
    {{ identity_key('evaluator') }} as evaluator_key,
    {{ identity_key('service_name') }} as service_key,
    notes,
    owner_name,
    file_name,
    sheet,
    row_number,
    snapshot_sha256,
    snapshot_landed_at,
    version_rank = 1 as is_current,
    case when version_rank > 1 then
        'superseded by ' || latest_file_name || ' (landed ' || strftime(latest_landed_at, '%Y-%m-%d %H:%M:%S')
        || ' UTC), which has the same portal, test type, test date and evaluator'
    end as superseded_reason
from ranked
