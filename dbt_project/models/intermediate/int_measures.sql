-- Every measure from every source, one row per portal x period x measure.
select * from {{ ref('int_measures__crawl') }}
union all by name
select * from {{ ref('int_measures__probes') }}
union all by name
select * from {{ ref('int_measures__surveys') }}
union all by name
select * from {{ ref('int_measures__papi') }}
