{#- The half-year assessment period, e.g. '2026-H2'. Timestamps are read in Vietnam time;
    pass local_time=false for a column that is already a calendar date. -#}
{% macro period_of(column, local_time=true) -%}
    {%- if local_time -%}
        {%- set d = "cast(timezone('Asia/Ho_Chi_Minh', cast(" ~ column ~ " as timestamptz)) as date)" -%}
    {%- else -%}
        {%- set d = "cast(" ~ column ~ " as date)" -%}
    {%- endif -%}
    (cast(year({{ d }}) as varchar) || '-H' || case when month({{ d }}) <= 6 then '1' else '2' end)
{%- endmacro %}
