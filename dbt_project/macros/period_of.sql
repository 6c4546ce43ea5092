{#- The half-year assessment period, e.g. '2026-H2'. Timestamps are read in Vietnam time, which has
    been UTC+7 without daylight saving since 1975: adding seven hours to the instant is exact, and is
    several times cheaper than a time-zone conversion over tens of millions of probes.
    Pass local_time=false for a column that is already a calendar date. -#}
{% macro period_of(column, local_time=true) -%}
    {%- if local_time -%}
        {%- set d = "make_timestamp(epoch_us(cast(" ~ column ~ " as timestamptz)) + 25200000000)" -%}
    {%- else -%}
        {%- set d = "cast(" ~ column ~ " as date)" -%}
    {%- endif -%}
    (cast(year({{ d }}) as varchar) || '-H' || case when month({{ d }}) <= 6 then '1' else '2' end)
{%- endmacro %}
