{{ config(materialized='incremental', incremental_strategy='replace_episodes', on_schema_change='fail') }}

with

assessments as (

    select * from {{ ref('int_assessments_scored') }}
    where {{ in_changed_episodes('episode_key') }}

),

final as (

    select

        ---------- ids
        episode_key,
        site_id,
        timepoint,

        ---------- timing
        timepoint_month,
        days_since_intake,
        in_window,

        ---------- depression (PHQ-9)
        phq9_total,
        phq9_prorated,
        phq9_band,
        phq9_item9_positive,

        ---------- anxiety (GAD-7)
        gad7_total,
        gad7_prorated,
        gad7_band,

        ---------- well-being (WHO-5)
        who5_raw,
        who5_pct,
        who5_poor_wellbeing,

        ---------- trauma (PCL-5)
        pcl5_total,

        ---------- caseness
        caseness,

        ---------- safety since last contact
        serious_adverse_event,
        psychiatric_hospitalization

    from assessments

)

select * from final
