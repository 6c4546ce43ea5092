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
    where loaded_at > (select max({{ watermark }}) from {{ this }})
{%- endmacro %}
