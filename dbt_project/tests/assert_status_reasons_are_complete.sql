-- A failing row is a published reason whose own row maps it elsewhere, or a row the models rely on
-- that the seed lacks: the source-level conditions, `http_error` (any http_<status>) and `other`
-- (the default for an error class not listed).
select error_class, status_reason, 'a reason maps to another reason' as problem
from {{ ref('status_reasons') }}
where error_class in (select status_reason from {{ ref('status_reasons') }}) and error_class <> status_reason
union all
select needed, null, 'missing row'
from (values ('not_crawled'), ('not_probed'), ('no_test'), ('no_papi'), ('no_data'), ('http_error'), ('other'))
    as t(needed)
where needed not in (select error_class from {{ ref('status_reasons') }})
