-- The portal registry: the seed portals_registry, or the CSV file of the same columns that
-- $PORTAL_INDEX_REGISTRY names (a synthetic registry from `portal-index synth`); the Python side
-- (portal_index.core.registry) reads the same file.
{{ config(materialized='table') }}
{%- set override = env_var('PORTAL_INDEX_REGISTRY', '') %}
{%- set seed = ref('portals_registry') %}
select
    portal_id, kind, owner_type, province_code_63, province_code_34, ministry_code,
    name_vi, name_en, base_url, valid_from, valid_to
{%- if override %}
from read_csv('{{ override }}', header = true, auto_detect = false, columns = {
    'portal_id': 'varchar', 'kind': 'varchar', 'owner_type': 'varchar', 'province_code_63': 'varchar',
    'province_code_34': 'varchar', 'ministry_code': 'varchar', 'name_vi': 'varchar', 'name_en': 'varchar',
    'base_url': 'varchar', 'valid_from': 'date', 'valid_to': 'date'})
{%- else %}
from {{ seed }}
{%- endif %}
