-- One row per follow-up timepoint: Spearman's rank correlation of early alliance (alliance_prep) with
-- the PHQ-9 change, with its 95 % interval (SPEC section 6). An observational association.

with

timepoints as (

    {{ followup_timepoints() }}

),

pairs as (

    select
        outcomes.timepoint,
        episodes.alliance_prep,
        outcomes.phq9_change
    from {{ ref('fct_episode_outcomes') }} as outcomes
    inner join {{ ref('dim_episodes') }} as episodes
        on outcomes.episode_key = episodes.episode_key
    where episodes.alliance_prep is not null
        and outcomes.phq9_change is not null

),

ranked as (

    select
        timepoint,
        {{ centred_average_rank('alliance_prep', 'timepoint') }} as alliance_rank,
        {{ centred_average_rank('phq9_change', 'timepoint') }} as change_rank
    from pairs

),

correlated as (

    select
        timepoint,
        count(*) as n,
        {{ correlation_of_centred('alliance_rank', 'change_rank') }} as rho
    from ranked
    group by timepoint

),

-- fewer than 10 pairs: no estimate (SPEC section 6)
estimated as (

    select
        timepoints.timepoint,
        timepoints.timepoint_month,
        cast(coalesce(correlated.n, 0) as integer) as n,
        case when correlated.n >= 10 then correlated.rho end as spearman_rho
    from timepoints
    left join correlated
        on timepoints.timepoint = correlated.timepoint

),

final as (

    select
        timepoint,
        timepoint_month,
        n,
        cast(spearman_rho as double) as spearman_rho,
        cast({{ bonett_wright_limit('spearman_rho', 'n', -1) }} as double) as ci_low,
        cast({{ bonett_wright_limit('spearman_rho', 'n', 1) }} as double) as ci_high
    from estimated

)

select * from final
