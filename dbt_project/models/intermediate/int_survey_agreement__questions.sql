-- Agreement between evaluators per period and yes/no question, across all portals: the share of
-- pairs that gave the same answer, and Fleiss' kappa (that share corrected for the agreement chance
-- alone would give).
--
-- Why Fleiss' kappa and not Cohen's: Cohen's kappa is for two fixed raters who both rate every
-- subject, and its chance agreement uses each rater's own rate of "yes". Here a subject is a test
-- pair (two current tests of one portal by two different evaluators), and the two evaluators differ
-- from one portal to the next: evaluator 1 of one pair is not evaluator 1 of another, so there are
-- no two raters whose own rates could be estimated. Fleiss' kappa (Fleiss 1971) assumes only a fixed
-- number of ratings per subject, here 2, from raters who may differ between subjects; its chance
-- agreement uses the pooled share of each answer over all ratings.
--
-- With n = 2 ratings per subject, N subjects, A agreeing subjects, y "yes" ratings and m = 2N - y
-- "no" ratings:
--   observed agreement   P  = A / N   (a subject's agreement is 1 if both ratings match, else 0)
--   expected agreement   Pe = (y / 2N)^2 + (m / 2N)^2
--   kappa                   = (P - Pe) / (1 - Pe) = (4 N A - y^2 - m^2) / (2 y m)
-- 1 - Pe = y m / (2 N^2) is 0 exactly when every rating is the same answer (y = 0 or m = 0): kappa
-- is then undefined and is left null, whatever the observed agreement. The integer form decides
-- that without comparing floating-point numbers to 1.
--
-- The subjects are int_survey_answer_pairs's rows (one per pair of tests and question both
-- answered), where the pairing rules live; this model only counts them.
with counts as (
    select
        period,
        question,
        count(distinct portal_id) as portals,
        count(*) as pairs,
        count(*) filter (where agreed) as agreed_pairs,
        count(*) filter (where answer_a) + count(*) filter (where answer_b) as yes_answers
    from {{ ref('int_survey_answer_pairs') }}
    group by period, question
)

select
    period,
    question,
    portals,
    pairs,
    agreed_pairs,
    yes_answers,
    2 * pairs - yes_answers as no_answers,
    cast(agreed_pairs / pairs as decimal(5, 4)) as percent_agreement,
    cast(
        (yes_answers * yes_answers + (2 * pairs - yes_answers) * (2 * pairs - yes_answers))
        / (4.0 * pairs * pairs) as decimal(5, 4)
    ) as expected_agreement,
    case
        when yes_answers > 0 and yes_answers < 2 * pairs then
            cast(
                (4.0 * pairs * agreed_pairs - yes_answers * yes_answers
                 - (2 * pairs - yes_answers) * (2 * pairs - yes_answers))
                / (2.0 * yes_answers * (2 * pairs - yes_answers)) as decimal(5, 4)
            )
    end as fleiss_kappa
from counts
