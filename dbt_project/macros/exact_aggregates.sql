{#- Sums, means and spreads that do not depend on the order in which rows reach them.

    DuckDB adds up a group's rows in whatever order its threads hand them over, so a float sum can
    differ in its last bits from one build to the next; a published value rounded to 2 decimals
    then differs too whenever it lies on a rounding boundary (at 10,000 portals, a pillar score of
    one portal in 20,000 came out 39.75 in one build and 39.76 in the next, from the same inputs).
    exact_sum and exact_avg add each value rounded to 12 decimals as a DECIMAL, which DuckDB adds as
    integers: the same result in any order (docs/decisions.md, "The same inputs give the same
    bytes"). Pass `where` for what would be a FILTER clause. exact_stddev_pop is the population
    standard deviation from the exact means of the values and of their squares: the same in any
    order (DuckDB's stddev_pop differed between two runs for 109,654 of 110,000 groups of a test
    table; ordering its input made it 30 times slower), 0 when the values are equal, and otherwise
    off by at most about sqrt(1e-12 + 2.2e-16 x the mean square), the squares being rounded to 12
    decimals and the means' difference taken in floating point: 1e-6 for shares between 0 and 1,
    half a microsecond for times up to 30 s. The inputs' numbers are bounded at ingest
    (portal_index/core/raw_tables.py, MAX_MAGNITUDE and MAX_PROBE_MS), so the DECIMAL holds them. -#}
{% macro exact_sum(x, where=none) -%}
    {{ exact_aggregate('sum', x, where) }}
{%- endmacro %}

{% macro exact_avg(x, where=none) -%}
    {{ exact_aggregate('avg', x, where) }}
{%- endmacro %}

{% macro exact_aggregate(function, x, where=none) -%}
    cast({{ function }}(cast({{ x }} as decimal(38, 12))){% if where %} filter (where {{ where }}){% endif %} as double)
{%- endmacro %}

{% macro exact_stddev_pop(x) -%}
    case when count({{ x }}) = 0 then null
         when min({{ x }}) = max({{ x }}) then cast(0 as double)  -- equal values: no spread, exactly
         else sqrt(greatest(
             cast(avg(cast(({{ x }}) * ({{ x }}) as decimal(38, 12))) as double)
                 - power(cast(avg(cast({{ x }} as decimal(38, 12))) as double), 2),
             0)) end
{%- endmacro %}
