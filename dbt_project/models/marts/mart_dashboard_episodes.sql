-- One row per site and medicine that has episodes: the episode counts the dashboards show (overview,
-- ruptures), aggregated here so that the dashboards read a few thousand rows, never the episodes.

with

episodes as (

    select * from {{ ref('dim_episodes') }}

)

select
    site_id,
    medicine,
    cast(count(*) as integer) as episodes,
    cast({{ count_true('treated') }} as integer) as treated,
    cast({{ count_true('finished_course') }} as integer) as finished_course,
    cast({{ count_true('rupture_count > 0') }} as integer) as with_rupture,
    cast(coalesce(sum(rupture_count), 0) as integer) as ruptures,
    cast(coalesce(sum(repaired_count), 0) as integer) as repaired
from episodes
group by site_id, medicine
