-- One row per site in the roster and follow-up timepoint: the site's outcome rates among its paired
-- episodes beside the registry's pooled reliable-improvement rate, with funnel-plot control limits
-- (SPEC section 6). A site without paired scores has null rates, limits and outlier.

with

sites as (

    select site_id from {{ ref('dim_sites') }}

),

timepoints as (

    {{ followup_timepoints() }}

),

paired_outcomes as (

    select * from {{ ref('fct_episode_outcomes') }}
    where paired

),

site_counts as (

    select
        site_id,
        timepoint,
        count(*) as n_paired,
        {{ count_true('reliable_improvement') }} as n_reliable_improvement,
        {{ count_true('recovered') }} as n_recovered,
        count(recovered) as n_recovery_defined,
        {{ count_true('remission') }} as n_remission,
        count(remission) as n_remission_defined
    from paired_outcomes
    group by site_id, timepoint

),

registry_rates as (

    select
        timepoint,
        {{ rate(count_true('reliable_improvement'), 'count(*)') }} as registry_rate
    from paired_outcomes
    group by timepoint

),

rates as (

    select
        sites.site_id,
        timepoints.timepoint,
        timepoints.timepoint_month,
        cast(coalesce(site_counts.n_paired, 0) as integer) as n_paired,
        {{ rate('site_counts.n_reliable_improvement', 'site_counts.n_paired') }} as reliable_improvement_rate,
        {{ rate('site_counts.n_recovered', 'site_counts.n_recovery_defined') }} as recovery_rate,
        {{ rate('site_counts.n_remission', 'site_counts.n_remission_defined') }} as remission_rate,
        registry_rates.registry_rate
    from sites
    cross join timepoints
    left join site_counts
        on sites.site_id = site_counts.site_id
        and timepoints.timepoint = site_counts.timepoint
    left join registry_rates
        on timepoints.timepoint = registry_rates.timepoint

),

limits as (

    select
        rates.*,
        {{ funnel_limit('registry_rate', 'n_paired', 1.959964, -1) }} as lower_95,
        {{ funnel_limit('registry_rate', 'n_paired', 1.959964, 1) }} as upper_95,
        {{ funnel_limit('registry_rate', 'n_paired', 3.090232, -1) }} as lower_998,
        {{ funnel_limit('registry_rate', 'n_paired', 3.090232, 1) }} as upper_998
    from rates

),

final as (

    select
        site_id,
        timepoint,
        timepoint_month,
        n_paired,
        cast(reliable_improvement_rate as double) as reliable_improvement_rate,
        cast(recovery_rate as double) as recovery_rate,
        cast(remission_rate as double) as remission_rate,
        cast(registry_rate as double) as registry_rate,
        cast(lower_95 as double) as lower_95,
        cast(upper_95 as double) as upper_95,
        cast(lower_998 as double) as lower_998,
        cast(upper_998 as double) as upper_998,
        cast(case
            when n_paired = 0 or upper_998 is null then null
            when reliable_improvement_rate > upper_998 then 'high'
            when reliable_improvement_rate < lower_998 then 'low'
            else 'within'
        end as {{ dbt.type_string() }}) as outlier
    from limits

)

select * from final
