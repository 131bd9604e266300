-- One row per value of early alliance (alliance_prep, WAI-SR total 12-60): how many episodes have it
-- (the dashboards' alliance distribution).

select
    alliance_prep,
    cast(count(*) as integer) as episodes
from {{ ref('dim_episodes') }}
where alliance_prep is not null
group by alliance_prep
