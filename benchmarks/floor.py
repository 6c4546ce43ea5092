"""The floor: one hand-written DuckDB query that computes `portal_scores` from the snapshot files.

It reads the probe CSVs and the crawl JSON Lines where they lie in the snapshot store, and the
methodology and registry seeds, and does what the dbt models do in one statement, with no
intermediate table, no test and no evidence strings: the least work that gives the same scores.
The evaluators' files are the exception: DuckDB reads no XLSX without an extension downloaded from
the internet, and PAPI's province names need the project's name normaliser, so the floor takes the
survey and PAPI rows as the loaders parsed them (40,000 and 3,500 rows at 10,000 portals, against
44 million probe rows). It handles what `portal-index synth` writes (crawl results
as JSON Lines, no browser audits); snapshots there never overlap, so it does not de-duplicate.

`portal_scores(home)` runs it, then compares its rows with `marts.portal_scores` of the same
working folder (every column, as published).
"""

from __future__ import annotations

import time

import duckdb

from portal_index.config import SEEDS_DIR, Home, duckdb_memory_limit
from portal_index.core.raw_tables import RAW_TABLES

PERIOD = (
    "(cast(year(make_timestamp(epoch_us({t}) + 25200000000)) as varchar) || '-H' || "
    "case when month(make_timestamp(epoch_us({t}) + 25200000000)) <= 6 then '1' else '2' end)"
)  # UTC+7

FLOOR_SQL = """
with
registry as (
    select * from read_csv('{registry}', header = true, auto_detect = false, columns = {{
        'portal_id': 'varchar', 'kind': 'varchar', 'owner_type': 'varchar', 'province_code_63': 'varchar',
        'province_code_34': 'varchar', 'ministry_code': 'varchar', 'name_vi': 'varchar', 'name_en': 'varchar',
        'base_url': 'varchar', 'valid_from': 'date', 'valid_to': 'date'}})
),
current_version as (  -- the floor scores the current methodology version (the one adopted last) only
    select methodology_version from read_csv('{seeds}/methodology/methodology_versions.csv', header = true,
                                              all_varchar = true)
    order by cast(adopted_on as date) desc, methodology_version desc limit 1),
catalog as (select * from read_csv('{seeds}/methodology/indicator_catalog.csv', header = true, auto_detect = false,
    columns = {{'methodology_version': 'varchar', 'indicator_id': 'varchar', 'pillar': 'varchar',
                'source': 'varchar', 'applies_to': 'varchar',
                'weight': 'double', 'measure': 'varchar', 'normalisation': 'varchar', 'best': 'double',
                'worst': 'double', 'unit': 'varchar', 'name_vi': 'varchar', 'name_en': 'varchar',
                'legal_basis': 'varchar'}})
            where methodology_version = (select methodology_version from current_version)),
pillars as (select pillar, cast(weight as double) as weight
            from read_csv('{seeds}/methodology/pillars.csv', header = true, all_varchar = true)
            where methodology_version = (select methodology_version from current_version)),
bands as (select grade, cast(min_total as double) as min_total
          from read_csv('{seeds}/methodology/grade_bands.csv', header = true, all_varchar = true)
          where methodology_version = (select methodology_version from current_version)),
params as (select max(value) filter (where parameter = 'coverage_min')::double as coverage_min,
                  any_value(methodology_version) as methodology_version
           from read_csv('{seeds}/methodology/scoring_parameters.csv', header = true, all_varchar = true)
           where methodology_version = (select methodology_version from current_version)),
crosswalk as (select * from read_csv('{seeds}/registry/province_crosswalk.csv', header = true, all_varchar = true)),

probes as (
    select *, {probe_period} as period, coalesce(retry_of, probed_at) as attempt_of,
           (error is null and status between 200 and 399) as ok
    from read_csv('{snapshots}/probes/*/*.csv', header = true, auto_detect = false, nullstr = '',
                  columns = {{{probe_columns}}})
),
retried as (select distinct portal_id, url, retry_of as probed_at from probes where retry_of is not null),
probe_attempts as (
    select portal_id, period, avg(case when up then 1.0 else 0.0 end) as availability
    from (select p.portal_id, p.period, p.ok as up from probes as p
          anti join retried using (portal_id, url, probed_at)
          where p.retry_of is null and p.error is distinct from 'blocked'
          union all
          select p.portal_id, p.period, bool_or(p.ok) from probes as p
          semi join retried as r on r.portal_id = p.portal_id and r.url = p.url and r.probed_at = p.attempt_of
          where p.error is distinct from 'blocked'
          group by p.portal_id, p.period, p.url, p.attempt_of)
    group by all
),
probe_measures as (
    select portal_id, period, measure, value
    from (
        select portal_id, period, any_value(a.availability) as availability,
               -- from each group's list, as the models do (macro quantile_of): DuckDB's own
               -- holistic aggregates spill tens of GB here at 10,000 portals under the 3 GB limit
               list_aggregate(list(ttfb_ms) filter (where ok), 'quantile_cont', 0.5) as ttfb_median_ms,
               list_aggregate(list(total_ms) filter (where ok), 'quantile_cont', 0.95) as total_p95_ms,
               arg_max(case when url like 'https://%' and error is null and coalesce(redirects_to_https, false)
                            and tls_fault is null and tls_expires_at > probed_at + interval 14 days
                            then 1.0 else 0.0 end,
                       probed_at) filter (where url_kind = 'home' and error is distinct from 'blocked') as https_ok
        from probes join probe_attempts as a using (portal_id, period)
        group by all
    ) unpivot (value for measure in (availability, ttfb_median_ms, total_p95_ms, https_ok))
),

signals as (
    select portal_id, crawl_id, signal_id, value, {crawl_period} as period
    from read_json('{snapshots}/crawl/*/*.jsonl', format = 'newline_delimited',
                   columns = {{'record': 'varchar', 'crawl_id': 'varchar', 'portal_id': 'varchar',
                               'crawled_at': 'timestamptz', 'signal_id': 'varchar', 'value': 'double'}})
    where record = 'signal'
),
crawl_measures as (
    select s.portal_id, s.period, s.signal_id as measure, s.value
    from signals as s
    join (select portal_id, period, max(crawl_id) as crawl_id from signals group by all)
        using (portal_id, period, crawl_id)
    where s.value is not null
),

tests as (
    select *,
           (cast(year(test_date) as varchar) || '-H' || case when month(test_date) <= 6 then '1' else '2' end) as period
    from wh.raw.survey_responses
    qualify row_number() over (partition by portal_id, test_type, test_date, coalesce(evaluator, '')
                               order by snapshot_landed_at desc, snapshot_sha256 desc) = 1
),
survey_measures as (
    select portal_id, period, measure, value from (
        select portal_id, period,
               avg(completed_online::int) filter (where test_type = 'service') as completed_online,
               avg((not original_papers_demanded)::int) filter (where test_type = 'service') as no_original_papers,
               avg(result_online::int) filter (where test_type = 'service') as result_online,
               avg((not payment_before_submission)::int) filter (where test_type = 'service') as submit_before_payment,
               avg(satisfaction) as satisfaction,
               avg(screen_reader_completed::int) as screen_reader_completed,
               avg(ethnic_language_content::int) as ethnic_language_content
        from tests group by all
    ) unpivot (value for measure in (completed_online, no_original_papers, result_online, submit_before_payment,
                                     satisfaction, screen_reader_completed, ethnic_language_content))
),

periods as (
    select period,
           make_date(cast(left(period, 4) as integer), case when right(period, 1) = '1' then 1 else 7 end, 1)
               as period_start
    from (select period from probe_measures union select period from crawl_measures union select period from tests)
),
portal_periods as (
    select p.period, p.period_start, r.*,
           case when p.period_start >= date '2025-07-01' then '34-' || r.province_code_34
                else '63-' || r.province_code_63 end as owner_province_id
    from registry as r cross join periods as p
    where (r.valid_from is null or r.valid_from < p.period_start + interval 6 months)
      and (r.valid_to is null or r.valid_to >= p.period_start)
),
papi as (
    select province_code as province, year, dimension, score
    from wh.raw.papi_scores
    qualify row_number() over (partition by province_code, year, dimension
                               order by coalesce(source_year = year, false) desc, source_year desc nulls last,
                                        snapshot_landed_at desc, snapshot_sha256 desc) = 1
),
papi_provinces as (
    select '63-' || province as province_id, year, score from papi where dimension = 8
    union all
    select '34-' || c.new_province_code, p.year, avg(p.score)
    from papi as p join crosswalk as c on c.old_province_code = p.province
    where p.dimension = 8 group by all
),
papi_measures as (
    select pp.portal_id, pp.period, 'papi_d8' as measure, ps.score as value
    from portal_periods as pp join papi_provinces as ps
      on ps.province_id = pp.owner_province_id and ps.year <= year(pp.period_start)
    where pp.owner_type = 'province'
    qualify row_number() over (partition by pp.portal_id, pp.period order by ps.year desc) = 1
),
measures as (
    select * from probe_measures union all select * from crawl_measures
    union all select * from survey_measures union all select * from papi_measures
),

indicator_scores as (
    select pp.portal_id, pp.period, c.pillar, c.weight, avg(m.value) as raw_value,
           case when avg(m.value) is null then null
                when c.normalisation in ('share', 'yes_no') then greatest(0.0, least(1.0, avg(m.value)))
                else greatest(0.0, least(1.0, (avg(m.value) - c.worst) / (c.best - c.worst))) end as score
    from portal_periods as pp
    join catalog as c on c.applies_to = 'both' or c.applies_to = pp.kind
                      or (c.applies_to = 'province' and pp.owner_type = 'province')
    left join measures as m on m.portal_id = pp.portal_id and m.period = pp.period and m.measure like c.measure
    group by pp.portal_id, pp.period, c.indicator_id, c.pillar, c.weight, c.normalisation, c.best, c.worst
),
pillar_scores as (
    select portal_id, period, pillar,
           100.0 * sum(weight * score) filter (where raw_value is not null)
               / nullif(sum(weight) filter (where raw_value is not null), 0) as pillar_score,
           coalesce(sum(weight) filter (where raw_value is not null), 0) as weight_with_data,
           sum(weight) as weight_applicable
    from indicator_scores group by all
),
totals as (
    select s.portal_id, s.period,
           max(pillar_score) filter (where s.pillar = 'function') as function_score,
           max(pillar_score) filter (where s.pillar = 'performance') as performance_score,
           max(pillar_score) filter (where s.pillar = 'access') as access_score,
           sum(w.weight * pillar_score) filter (where pillar_score is not null)
               / nullif(sum(w.weight) filter (where pillar_score is not null), 0) as total_exact,
           sum(weight_with_data) / sum(weight_applicable) as coverage
    from pillar_scores as s join pillars as w using (pillar)
    group by all
),
graded as (
    select t.*, round(t.total_exact, 2)::decimal(5, 2) as total,
           t.coverage < params.coverage_min or t.total_exact is null as insufficient,
           params.methodology_version,
           case when t.coverage < params.coverage_min or t.total_exact is null then 'insufficient_data'
                else (select b.grade from bands as b where round(t.total_exact, 2) >= b.min_total
                      order by b.min_total desc limit 1) end as grade
    from totals as t cross join params
)
select
    g.portal_id, g.period, pp.kind, pp.owner_type, pp.kind || '/' || pp.owner_type as peer_group,
    pp.owner_province_id, pp.ministry_code,
    round(g.function_score, 2)::decimal(5, 2) as function_score,
    round(g.performance_score, 2)::decimal(5, 2) as performance_score,
    round(g.access_score, 2)::decimal(5, 2) as access_score,
    g.total, g.grade,
    case when not g.insufficient then
        rank() over (partition by g.period, pp.kind, pp.owner_type, g.insufficient order by g.total desc) end as rank,
    count(*) filter (where not g.insufficient) over (partition by g.period, pp.kind, pp.owner_type) as peers_ranked,
    round(g.coverage, 4)::decimal(5, 4) as coverage,
    g.total - lag(g.total) over (partition by g.portal_id order by g.period) as change_since_previous,
    g.methodology_version
from graded as g join portal_periods as pp using (portal_id, period)
"""


def floor_sql(home: Home) -> str:
    columns = ", ".join(f"'{c}': '{t}'" for c, t in RAW_TABLES["probes"].items())
    return FLOOR_SQL.format(
        registry=home.registry,
        seeds=SEEDS_DIR,
        snapshots=home.snapshots,
        probe_columns=columns,
        probe_period=PERIOD.format(t="probed_at"),
        crawl_period=PERIOD.format(t="crawled_at"),
    )


def portal_scores(home: Home) -> dict:
    """Run the floor query; count its rows and the rows where it and the mart differ."""
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        # the same limits as the dbt profile: two threads, the same memory, spilling where it must
        con.execute(f"set memory_limit = '{duckdb_memory_limit()}'")
        con.execute("set threads = 2")
        con.execute("set preserve_insertion_order = false")
        con.execute(f"set temp_directory = '{home.work / 'floor.tmp'}'")
        con.execute(f"attach '{home.warehouse}' as wh (read_only)")
        started = time.perf_counter()
        con.execute(f"create temp table floor_scores as {floor_sql(home)}")
        seconds = time.perf_counter() - started
        rows = con.execute("select count(*) from floor_scores").fetchone()[0]
        if not con.execute(
            "select count(*) from duckdb_tables() where database_name = 'wh' and schema_name = 'marts' "
            "and table_name = 'portal_scores'"
        ).fetchone()[0]:
            return {"scores": rows, "query_seconds": round(seconds, 2), "compared": False}
        columns = [c for (c,) in con.execute("select column_name from (describe floor_scores)").fetchall()]
        scores = ("function_score", "performance_score", "access_score", "total", "coverage")
        same, grades, worst, missing = con.execute(f"""
            select count(*) filter (where {" and ".join(f"f.{c} is not distinct from m.{c}" for c in columns)}),
                   count(*) filter (where f.grade is distinct from m.grade),
                   max(greatest({", ".join(f"coalesce(abs(f.{c} - m.{c}), 0)" for c in scores)})),
                   count(*) filter (where f.portal_id is null or m.portal_id is null)
            from floor_scores as f full join wh.marts.portal_scores as m using (portal_id, period)""").fetchone()
    # sums in another order can round a last digit the other way: reported, not hidden
    return {
        "scores": rows,
        "query_seconds": round(seconds, 2),
        "compared": True,
        "rows_identical_to_mart": same,
        "rows_missing_either_side": missing,
        "grades_differing": grades,
        "largest_score_difference": float(worst or 0),
    }
