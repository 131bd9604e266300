-- One row per session and rater of an episode with an intake, with its alliance and experience scores.

{{ config(materialized='incremental', incremental_strategy='replace_episodes', on_schema_change='fail') }}

with

ratings as (

    select * from {{ ref('int_alliance_ratings_corrected') }}
    where not is_orphan
        and {{ in_changed_episodes('episode_key') }}

),

scored as (

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
        {{ wai_score('total') }} as wai_total,
        {{ wai_score('task') }} as wai_task,
        {{ wai_score('bond') }} as wai_bond,
        {{ wai_score('goal') }} as wai_goal,

        ---------- session experience
        meq_mystical,
        meq_positive_mood,
        meq_transcendence,
        meq_ineffability,
        {{ complete_mystical('session_type') }} as complete_mystical,
        {{ ebi_score() }} as ebi_score,

        ---------- process and safety
        rupture,
        repair,
        adverse_event,

        ---------- lineage
        upload_month,
        source_row,
        upload_sha256

    from ratings

)

select * from scored
