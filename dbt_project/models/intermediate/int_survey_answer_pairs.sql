-- The pairs of evaluators' answers that agreement is measured on: one row per pair of tests and
-- yes/no question that both tests answered. int_survey_agreement (per portal and period) and
-- int_survey_agreement__questions (per period and question, with Fleiss' kappa) only count these
-- rows; the pairing rules live here alone.
--
-- A pair is two current survey tests (stg_surveys__responses.is_current) of the same portal, period
-- and test type - for service tests also the same service_name - by two different evaluators. An
-- unknown evaluator (null) is never paired: it could be either of the two. Nor is a service test
-- without a service_name: it may be another service. Every unordered pair counts once (the test
-- with the smaller snapshot / sheet / row key is side a).
-- The yes/no questions compared are the six boolean answers; an answer counts only when both tests
-- of the pair gave it. A pair with no such answer (e.g. two satisfaction tests, which have a 1-5
-- score and no yes/no question) has no row.
with tests as (
    select
        portal_id,
        period,
        test_type,
        service_key,  -- names compared by identity_key: case, Unicode form and spacing aside
        evaluator_key,
        -- a test's identity: its sheet row in one loaded snapshot (a file name can be loaded twice)
        snapshot_sha256 || ' / ' || sheet || ' / ' || row_number as test_key,
        file_name || ' / ' || sheet || ' / row ' || row_number as cell,
        completed_online,
        original_papers_demanded,
        result_online,
        payment_before_submission,
        screen_reader_completed,
        ethnic_language_content
    from {{ ref('stg_surveys__responses') }}
    where is_current and evaluator_key is not null
),

answers as (
    select
        tests.portal_id,
        tests.period,
        tests.test_type,
        tests.service_key,
        tests.evaluator_key,
        tests.test_key,
        tests.cell,
        questions.question,
        case questions.question
            when 'completed_online' then tests.completed_online
            when 'original_papers_demanded' then tests.original_papers_demanded
            when 'result_online' then tests.result_online
            when 'payment_before_submission' then tests.payment_before_submission
            when 'screen_reader_completed' then tests.screen_reader_completed
            when 'ethnic_language_content' then tests.ethnic_language_content
        end as answer
    from tests
    cross join (
        values ('completed_online'), ('original_papers_demanded'), ('result_online'),
               ('payment_before_submission'), ('screen_reader_completed'), ('ethnic_language_content')
    ) as questions (question)
)

select
    a.portal_id,
    a.period,
    a.test_type,
    a.question,
    a.test_key as test_a,
    b.test_key as test_b,
    a.cell as cell_a,
    b.cell as cell_b,
    a.answer as answer_a,
    b.answer as answer_b,
    a.answer = b.answer as agreed
from answers as a
inner join answers as b
    on a.portal_id = b.portal_id
    and a.period = b.period
    and a.test_type = b.test_type
    and a.question = b.question
    and (a.test_type <> 'service' or a.service_key = b.service_key)
    and a.evaluator_key <> b.evaluator_key
    and a.test_key < b.test_key
where a.answer is not null and b.answer is not null
