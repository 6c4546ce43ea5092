-- The indicator catalog of every methodology version: scoring model as data (weights, normalisation, legal basis).
select
    c.indicator_id,
    c.pillar,
    pl.name_vi as pillar_name_vi,
    pl.name_en as pillar_name_en,
    c.source,
    c.applies_to,
    c.weight,
    c.normalisation,
    c.best,
    c.worst,
    c.unit,
    c.name_vi,
    c.name_en,
    c.legal_basis,
    c.methodology_version
from {{ ref('indicator_catalog') }} as c
join {{ ref('pillars') }} as pl using (methodology_version, pillar)
