-- One row per follow-up assessment: the latest uploaded version of each follow-up row, flagged as an
-- orphan while its episode has no intake.

{{ config(materialized='incremental', incremental_strategy='replace_episodes', on_schema_change='fail') }}

{{ corrected_episode_rows('stg_followup', ['site_id', 'client_key', 'episode', 'timepoint']) }}
