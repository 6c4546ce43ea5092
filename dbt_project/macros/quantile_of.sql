{#- A quantile (0.5: the median) of a column per group, interpolated as quantile_cont does, over the
    rows that satisfy `where`: computed from the group's list of values. DuckDB's own median and
    quantile_cont keep a state per group that, past the memory limit with millions of groups
    (the days of 10,000 portals' probes), spilled more than 15 GB to disk; the list does not
    (docs/performance.md). -#}
{% macro quantile_of(column, q, where) -%}
list_aggregate(list({{ column }}) filter (where {{ where }}), 'quantile_cont', {{ q }})
{%- endmacro %}
