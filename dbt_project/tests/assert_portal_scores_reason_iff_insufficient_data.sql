-- A failing row is a portal graded insufficient_data without a reason, or a graded portal with one.
select portal_id, period, grade, status_reason
from {{ ref('portal_scores') }}
where (grade = 'insufficient_data') is distinct from (status_reason is not null)
