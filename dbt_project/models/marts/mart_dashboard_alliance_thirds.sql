-- One row per follow-up timepoint and third of early alliance (lower, middle, upper): the episodes with
-- a PHQ-9 change there and its mean and SD (the dashboards' alliance-thirds chart). The cut points are
-- the 1/3 and 2/3 quantiles of alliance_prep over all episodes that have it (linear interpolation);
-- a value on a cut point goes to the lower third.

with

timepoints as (

    {{ followup_timepoints() }}

),

thirds as (

    select cast('lower' as {{ dbt.type_string() }}) as third, 0 as third_order
    union all
    select cast('middle' as {{ dbt.type_string() }}), 1
    union all
    select cast('upper' as {{ dbt.type_string() }}), 2

),

cuts as (

    select
        percentile_cont(1.0 / 3) within group (order by alliance_prep) as cut_lower,
        percentile_cont(2.0 / 3) within group (order by alliance_prep) as cut_upper
    from {{ ref('dim_episodes') }}
    where alliance_prep is not null

),

changes as (

    select
        outcomes.timepoint,
        case
            when episodes.alliance_prep > cuts.cut_upper then 2
            when episodes.alliance_prep > cuts.cut_lower then 1
            else 0
        end as third_order,
        outcomes.phq9_change
    from {{ ref('fct_episode_outcomes') }} as outcomes
    inner join {{ ref('dim_episodes') }} as episodes
        on outcomes.episode_key = episodes.episode_key
    cross join cuts
    where episodes.alliance_prep is not null
        and outcomes.phq9_change is not null

),

summarised as (

    select
        timepoint,
        third_order,
        count(*) as n,
        avg(phq9_change) as mean_phq9_change,
        stddev_samp(phq9_change) as sd_phq9_change
    from changes
    group by timepoint, third_order

)

select
    timepoints.timepoint,
    thirds.third,
    cast(coalesce(summarised.n, 0) as integer) as n,
    cast(summarised.mean_phq9_change as double) as mean_phq9_change,
    cast(summarised.sd_phq9_change as double) as sd_phq9_change,
    cast(cuts.cut_lower as double) as cut_lower,
    cast(cuts.cut_upper as double) as cut_upper
from timepoints
cross join thirds
cross join cuts
left join summarised
    on timepoints.timepoint = summarised.timepoint
    and thirds.third_order = summarised.third_order
