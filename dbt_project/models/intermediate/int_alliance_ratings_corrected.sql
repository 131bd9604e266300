-- One row per session and rater: the latest uploaded version of each alliance row, flagged as an
-- orphan while its episode has no intake.

{{ config(materialized='incremental', incremental_strategy='replace_episodes', on_schema_change='fail') }}

{{ corrected_episode_rows('stg_alliance', ['site_id', 'client_key', 'episode', 'session_number', 'rater']) }}
