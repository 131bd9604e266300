{{ config(materialized='incremental', incremental_strategy='replace_episodes', on_schema_change='fail') }}

with

sessions as (

    select * from {{ ref('int_sessions_scored') }}
    where {{ in_changed_episodes('episode_key') }}

),

final as (

    select

        ---------- ids
        episode_key,
        site_id,
        session_number,
        rater,
        therapist_key,

        ---------- session
        session_type,
        days_since_intake,
        dose_mg,

        ---------- alliance (WAI-SR)
        wai_total,
        wai_task,
        wai_bond,
        wai_goal,

        ---------- session experience
        meq_mystical,
        meq_positive_mood,
        meq_transcendence,
        meq_ineffability,
        complete_mystical,
        ebi_score,

        ---------- process and safety
        rupture,
        repair,
        adverse_event

    from sessions

)

select * from final
