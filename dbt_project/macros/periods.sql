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
    (cast(year({{ d }}) as varchar) || '-H' || case when month({{ d }}) <= 6 then '1' else '2' end)
{%- endmacro %}

{#- The first and last day of a period given as text ('2026-H1'). -#}
{% macro period_start(period) -%}
    cast(left({{ period }}, 4) || case when right({{ period }}, 1) = '1' then '-01-01' else '-07-01' end as date)
{%- endmacro %}

{% macro period_end(period) -%}
    cast(left({{ period }}, 4) || case when right({{ period }}, 1) = '1' then '-06-30' else '-12-31' end as date)
{%- endmacro %}

{#- The UTC offset of Vietnam time as a literal suffix, '+07'. -#}
{% macro utc_offset() -%}
    {{- '%+03d' | format(var('assessment_utc_offset_hours')) -}}
{%- endmacro %}
