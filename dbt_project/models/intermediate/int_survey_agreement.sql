-- Agreement between evaluators, per portal and period: how often two evaluators who tested the same
-- thing gave the same yes/no answer. The pairs, and the rules that make them, are
-- int_survey_answer_pairs's (one row per pair of tests and question both answered); this model only
-- counts them. A portal and period with no pair has no row.
with evidence as (
    select portal_id, period, string_agg(distinct cell, '; ' order by cell) as evidence
    from (
        select portal_id, period, cell_a as cell from {{ ref('int_survey_answer_pairs') }}
        union all
        select portal_id, period, cell_b from {{ ref('int_survey_answer_pairs') }}
    )
    group by portal_id, period
),

per_portal as (
    select
        portal_id,
        period,
        count(distinct test_a || ' & ' || test_b) as evaluator_pairs,
        count(*) as paired_answers,
        count(*) filter (where agreed) as agreed_answers
    from {{ ref('int_survey_answer_pairs') }}
    group by portal_id, period
)

select
    per_portal.portal_id,
    per_portal.period,
    per_portal.evaluator_pairs,
    per_portal.paired_answers,
    per_portal.agreed_answers,
    cast(per_portal.agreed_answers / per_portal.paired_answers as decimal(5, 4)) as evaluator_agreement,
    evidence.evidence
from per_portal
inner join evidence
    on per_portal.portal_id = evidence.portal_id
    and per_portal.period = evidence.period
