{#- Generic test: every row has a value in each of `columns`. One test and one scan a model, not one
    of each a column: a test is a node of the build, and each node costs dbt about as much CPU as its
    query (docs/performance.md, "Fewer test nodes in the build"). A failing row names a column and
    how many rows lack it. -#}
{% test not_null_columns(model, columns) %}
with missing as (
    select
    {%- for column in columns %}
        count(*) filter (where {{ column }} is null) as missing_{{ loop.index }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ model }}
)
{%- for column in columns %}
select '{{ column }}' as column_name, missing_{{ loop.index }} as null_rows from missing where missing_{{ loop.index }} > 0
{{ "union all" if not loop.last }}
{%- endfor %}
{% endtest %}
