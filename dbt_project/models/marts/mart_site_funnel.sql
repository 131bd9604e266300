-- One row per site in the roster and follow-up timepoint: how many of the site's episodes reach each
-- step from intake to a paired follow-up (SPEC section 6). Sites without data get zeros.

with

sites as (

    select site_id from {{ ref('dim_sites') }}

),

timepoints as (

    {{ followup_timepoints() }}

),

dated as (

    select * from {{ ref('int_episodes_dated') }}

),

treatment as (

    select episode_key, treated, finished_course from {{ ref('int_episodes_summarised') }}

),

paired as (

    select episode_key, timepoint from {{ ref('fct_episode_outcomes') }}
    where paired

),

-- episode x timepoint, with whether the window has closed and whether the scores are paired
episode_timepoints as (

    select
        dated.site_id,
        timepoints.timepoint,
        treatment.treated,
        treatment.finished_course,
        treatment.treated
            and dated.months_since_intake >= timepoints.closed_after_months as eligible,
        paired.episode_key is not null as is_paired
    from dated
    inner join treatment
        on dated.episode_key = treatment.episode_key
    cross join timepoints
    left join paired
        on dated.episode_key = paired.episode_key
        and timepoints.timepoint = paired.timepoint

),

counted as (

    select
        site_id,
        timepoint,
        count(*) as intakes,
        {{ count_true('treated') }} as treated,
        {{ count_true('finished_course') }} as finished_course,
        {{ count_true('eligible') }} as eligible,
        {{ count_true('eligible and is_paired') }} as with_paired_scores
    from episode_timepoints
    group by site_id, timepoint

),

final as (

    select
        sites.site_id,
        timepoints.timepoint,
        timepoints.timepoint_month,
        cast(coalesce(counted.intakes, 0) as integer) as intakes,
        cast(coalesce(counted.treated, 0) as integer) as treated,
        cast(coalesce(counted.finished_course, 0) as integer) as finished_course,
        cast(coalesce(counted.eligible, 0) as integer) as eligible,
        cast(coalesce(counted.with_paired_scores, 0) as integer) as with_paired_scores,
        cast({{ percent_one_decimal('coalesce(counted.with_paired_scores, 0)',
                                    'coalesce(counted.eligible, 0)') }} as double) as completeness_pct
    from sites
    cross join timepoints
    left join counted
        on sites.site_id = counted.site_id
        and timepoints.timepoint = counted.timepoint

)

select * from final
