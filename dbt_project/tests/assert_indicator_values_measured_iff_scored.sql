-- Nothing measured is guessed. A failing row is an indicator value where measured, has_data and a
-- score do not go together, or a not-measurable value without a reason (or a measured one with one).
select portal_id, period, indicator_id, measurement_status, has_data, score, status_reason
from {{ ref('indicator_values') }}
where (measurement_status = 'measured') is distinct from has_data
   or has_data is distinct from (score is not null)
   or (measurement_status = 'not_measurable' and status_reason is null)
   or (measurement_status = 'measured' and status_reason is not null)
