{#- The scoring model version recorded on every published row (seed scoring_parameters). -#}
{% macro methodology_version() -%}
    (select value from {{ ref('scoring_parameters') }} where parameter = 'methodology_version')
{%- endmacro %}
