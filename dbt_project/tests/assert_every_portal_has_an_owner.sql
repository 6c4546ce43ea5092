-- A failing row is a portal whose owner columns do not match its owner type.
select portal_id, owner_type
from {{ ref('stg_registry__portals') }}
where (owner_type = 'province' and (ministry_code is not null or (province_code_63 is null and province_code_34 is null)))
   or (owner_type = 'ministry' and (ministry_code is null or province_code_63 is not null or province_code_34 is not null))
