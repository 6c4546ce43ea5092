-- Agreement between evaluators per period and yes/no question, across all portals
-- (int_survey_agreement__questions: the share of test pairs that agreed, and Fleiss' kappa).
select
    period,
    question,
    portals,
    pairs,
    agreed_pairs,
    yes_answers,
    no_answers,
    percent_agreement,
    expected_agreement,
    fleiss_kappa
from {{ ref('int_survey_agreement__questions') }}
