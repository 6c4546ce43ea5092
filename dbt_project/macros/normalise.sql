{#- Indicator normalisation to 0..1, as the indicator catalog declares it:
    share / yes_no: the value itself (a share of 0/1 observations), clipped to 0..1;
    linear: 1 at `best`, 0 at `worst`, interpolated between them and clipped (works either way round).
    A missing value stays null: DuckDB's least/greatest skip nulls, so it is tested for first. -#}
{% macro normalise(raw_value, method, best, worst) -%}
    case
        when {{ raw_value }} is null then null
        when {{ method }} in ('share', 'yes_no') then greatest(0.0, least(1.0, {{ raw_value }}))
        when {{ method }} = 'linear' then greatest(0.0, least(1.0, ({{ raw_value }} - {{ worst }}) / ({{ best }} - {{ worst }})))
    end
{%- endmacro %}
