-- One row per episode and follow-up timepoint that has an assessment, compared with the intake
-- baseline (SPEC section 5). Changes are follow-up minus baseline: negative = fewer symptoms.

{{ config(materialized='incremental', incremental_strategy='replace_episodes', on_schema_change='fail') }}

with

assessments as (

    select * from {{ ref('int_assessments_scored') }}
    where {{ in_changed_episodes('episode_key') }}

),

episodes as (

    select episode_key, site_id, medicine from {{ ref('int_intakes_corrected') }}

),

baseline as (

    select * from assessments
    where timepoint = 'baseline'

),

followups as (

    select * from assessments
    where timepoint <> 'baseline'

),

compared as (

    select
        followups.episode_key,
        episodes.site_id,
        episodes.medicine,
        followups.timepoint,
        followups.timepoint_month,
        followups.days_since_intake,
        followups.in_window,
        baseline.phq9_total as baseline_phq9,
        followups.phq9_total,
        followups.phq9_total - baseline.phq9_total as phq9_change,
        baseline.gad7_total as baseline_gad7,
        followups.gad7_total,
        followups.gad7_total - baseline.gad7_total as gad7_change,
        followups.who5_pct - baseline.who5_pct as who5_change,
        baseline.caseness as baseline_caseness,
        followups.caseness,
        {{ is_paired('baseline.phq9_total', 'followups.phq9_total',
                     'baseline.gad7_total', 'followups.gad7_total') }} as paired
    from followups
    inner join episodes
        on followups.episode_key = episodes.episode_key
    inner join baseline
        on followups.episode_key = baseline.episode_key

),

flagged as (

    select
        compared.*,
        {{ response('baseline_phq9', 'phq9_total') }} as response,
        {{ remission('phq9_total') }} as remission,
        {{ reliable_improvement('paired', 'phq9_change', 'gad7_change') }} as reliable_improvement,
        {{ reliable_deterioration('paired', 'phq9_change', 'gad7_change') }} as reliable_deterioration,
        {{ recovered('paired', 'baseline_caseness', 'caseness') }} as recovered
    from compared

),

final as (

    select

        ---------- ids
        episode_key,
        site_id,
        medicine,
        timepoint,

        ---------- timing
        timepoint_month,
        days_since_intake,
        in_window,

        ---------- scores and changes
        baseline_phq9,
        phq9_total,
        phq9_change,
        baseline_gad7,
        gad7_total,
        gad7_change,
        who5_change,

        ---------- outcome flags
        paired,
        response,
        remission,
        reliable_improvement,
        reliable_deterioration,
        recovered,
        {{ reliable_recovery('recovered', 'reliable_improvement') }} as reliable_recovery

    from flagged

)

select * from final
