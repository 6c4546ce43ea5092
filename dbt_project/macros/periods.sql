{#- The assessment calendar (docs/methodology.md, "Periods"). Its constants are the project's vars
    in dbt_project.yml, which Python reads too (portal_index.core.periods).

    period_of: the half-year of a time, e.g. '2026-H2'. Timestamps are read in Vietnam time, which
    has been UTC+7 without daylight saving since 1975: adding the offset to the instant is exact, and
    is several times cheaper than a time-zone conversion over tens of millions of probes.
    Pass local_time=false for a column that is already a calendar date. -#}
{% macro period_of(column, local_time=true) -%}
    {%- if local_time -%}
        {%- set d = "make_timestamp(epoch_us(cast(" ~ column ~ " as timestamptz)) + "
                    ~ (var('assessment_utc_offset_hours') * 3600 * 1000000) ~ ")" -%}
    {%- else -%}
        {%- set d = "cast(" ~ column ~ " as date)" -%}
    {%- endif -%}
    {%- set h2_month = half_years()['2'][0][1:3] | int %}
    {#- one concatenation: the probe models make this string for each of tens of millions of probes #}
    (cast(year({{ d }}) as varchar) || case when month({{ d }}) < {{ h2_month }} then '-H1' else '-H2' end)
{%- endmacro %}

{#- The half-years, stated once: (first day, last day) of H1 and H2 as month-day suffixes. The SQL
    macros below and `in_periods` (incremental_by_period.sql) are built from it. -#}
{% macro half_years() -%}
    {{ return({'1': ('-01-01', '-06-30'), '2': ('-07-01', '-12-31')}) }}
{%- endmacro %}

{#- The first and last day of a period given as text ('2026-H1'), as SQL expressions. -#}
{% macro period_start(period) -%}
    cast(left({{ period }}, 4) || case right({{ period }}, 1)
        {%- for half, days in half_years().items() %} when '{{ half }}' then '{{ days[0] }}'{% endfor %} end as date)
{%- endmacro %}

{% macro period_end(period) -%}
    cast(left({{ period }}, 4) || case right({{ period }}, 1)
        {%- for half, days in half_years().items() %} when '{{ half }}' then '{{ days[1] }}'{% endfor %} end as date)
{%- endmacro %}

{#- The first day of a period and the first day after it, as literal dates ('2026-H2' ->
    ('2026-07-01', '2027-01-01')), for filters DuckDB can prune row groups with. -#}
{% macro period_days(period) -%}
    {%- set year = period[:4] | int -%}
    {%- set half = period[-1] -%}
    {%- set after = (year ~ half_years()['2'][0]) if half == '1' else ((year + 1) ~ half_years()['1'][0]) -%}
    {{ return((year ~ half_years()[half][0], after)) }}
{%- endmacro %}

{#- The UTC offset of Vietnam time as a literal suffix, '+07'. -#}
{% macro utc_offset() -%}
    {{- '%+03d' | format(var('assessment_utc_offset_hours')) -}}
{%- endmacro %}
