{#- Models incremental by period (probes, crawl): each row keeps a watermark, the latest load time of
    the source's snapshots it was built from; a build recomputes only the periods of snapshots loaded
    after it. A table from before the watermark column existed is rebuilt whole, once. -#}
{% macro incremental_since(watermark) -%}
    {{ return(is_incremental() and watermark in (adapter.get_columns_in_relation(this) | map(attribute='name') | list)) }}
{%- endmacro %}

{#- The snapshots of `source_name` accepted by the loader (sha256, loaded_at). -#}
{% macro accepted_snapshots(source_name) -%}
    select sha256, loaded_at
    from {{ source('meta', 'snapshot_loads') }}
    where source = '{{ source_name }}' and status = 'accepted'
{%- endmacro %}

{#- The snapshots of `source_name` loaded since this model was last built. -#}
{% macro snapshots_since_last_build(source_name, watermark) -%}
    select sha256 from ({{ accepted_snapshots(source_name) }})
    where loaded_at > (select coalesce(max({{ watermark }}), timestamptz '1970-01-01 00:00:00+00') from {{ this }})
{%- endmacro %}

{#- The periods that `source_name`'s snapshots loaded since the last build fall in, read before the
    model's query runs, so the model filters on literal times (DuckDB then skips whole row groups). -#}
{% macro changed_periods(source_name, table, time_column, watermark) -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set found = run_query("select distinct " ~ period_of(time_column) ~ " from " ~ source('raw', table)
                              ~ " where snapshot_sha256 in (" ~ snapshots_since_last_build(source_name, watermark) ~ ")") -%}
    {{ return(found.columns[0].values() | list | sort) }}
{%- endmacro %}

{#- A condition true for times in one of `periods` (Vietnam's half-years, in Vietnam time); false for none.
    In parentheses: a model writes `where a and {{ in_periods(...) }}`, which must not become
    `(a and period 1) or period 2`. -#}
{% macro in_periods(time_column, periods) -%}
    {%- if not periods %}false{% endif -%}
    {%- for period in periods -%}
        {%- set first, after = period_days(period) -%}
        {{ '(' if loop.first }}{{ ' or ' if not loop.first }}({{ time_column }} >= timestamptz '{{ first }} 00:00:00{{ utc_offset() }}'
            and {{ time_column }} < timestamptz '{{ after }} 00:00:00{{ utc_offset() }}'){{ ')' if loop.last }}
    {%- endfor -%}
{%- endmacro %}
