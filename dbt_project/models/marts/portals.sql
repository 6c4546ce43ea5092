-- The portal registry: an information and a public-service portal per province and ministry.
select
    portal_id,
    kind,
    owner_type,
    case when province_code_63 is not null then '63-' || province_code_63 end as province_id_63,
    case when province_code_34 is not null then '34-' || province_code_34 end as province_id_34,
    ministry_code,
    name_vi,
    name_en,
    base_url,
    valid_from,
    valid_to
from {{ ref('stg_registry__portals') }}
