{#- Generic test: every row has a value in each of `columns`. One test and one scan a model, not one
    of each a column: a test is a node of the build and, in the pipeline, a Dagster asset check, and
    each costs about as much CPU as its query (docs/performance.md, "Fewer test nodes in the
    build"). A failing row names a column and how many rows lack it; the test's failures are the
    null values in all (`fail_calc`), as dbt's one-column `not_null` counted them. To see which
    columns, run the compiled SQL in the build's folder, or the test with `--store-failures`.
    Column names are written as they are: one that needs quoting (a keyword) cannot be listed. -#}
{% test not_null_columns(model, columns) %}
{{ config(fail_calc="coalesce(sum(null_rows), 0)") }}
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
