-- One row per assessment of an episode with an intake: the intake baseline and every follow-up,
-- with PHQ-9, GAD-7 and WHO-5 scores, caseness and the follow-up window check.

{{ config(materialized='incremental', incremental_strategy='replace_episodes', on_schema_change='fail') }}

with

intakes as (

    select * from {{ ref('int_intakes_corrected') }}
    where {{ in_changed_episodes('episode_key') }}

),

followups as (

    select * from {{ ref('int_followups_corrected') }}
    where not is_orphan
        and {{ in_changed_episodes('episode_key') }}

),

assessments as (

    select
        episode_key,
        site_id,
        cast('baseline' as varchar) as timepoint,
        0 as days_since_intake,
        {{ item_columns('phq9', 9) }},
        {{ item_columns('gad7', 7) }},
        {{ item_columns('who5', 5) }},
        pcl5_total,
        cast(null as boolean) as serious_adverse_event,
        cast(null as boolean) as psychiatric_hospitalization
    from intakes

    union all

    select
        episode_key,
        site_id,
        timepoint,
        days_since_intake,
        {{ item_columns('phq9', 9) }},
        {{ item_columns('gad7', 7) }},
        {{ item_columns('who5', 5) }},
        pcl5_total,
        serious_adverse_event,
        psychiatric_hospitalization
    from followups

),

totals as (

    select
        assessments.*,
        {{ phq9_total() }} as phq9_total,
        {{ phq9_prorated() }} as phq9_prorated,
        {{ gad7_total() }} as gad7_total,
        {{ gad7_prorated() }} as gad7_prorated,
        {{ who5_raw() }} as who5_raw
    from assessments

),

scored as (

    select

        ---------- ids
        episode_key,
        site_id,
        timepoint,

        ---------- timing
        {{ timepoint_month('timepoint') }} as timepoint_month,
        days_since_intake,
        {{ in_followup_window('timepoint', 'days_since_intake') }} as in_window,

        ---------- depression (PHQ-9)
        phq9_total,
        phq9_prorated,
        {{ phq9_band('phq9_total') }} as phq9_band,
        phq9_9 >= 1 as phq9_item9_positive,

        ---------- anxiety (GAD-7)
        gad7_total,
        gad7_prorated,
        {{ gad7_band('gad7_total') }} as gad7_band,

        ---------- well-being (WHO-5)
        who5_raw,
        {{ who5_pct('who5_raw') }} as who5_pct,
        {{ who5_poor('who5_raw') }} as who5_poor_wellbeing,

        ---------- trauma (PCL-5)
        pcl5_total,

        ---------- caseness
        {{ caseness('phq9_total', 'gad7_total') }} as caseness,

        ---------- safety since last contact (follow-ups only)
        serious_adverse_event,
        psychiatric_hospitalization

    from totals

)

select * from scored
