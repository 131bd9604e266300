-- One row per upload in the lake and episode it carries, as of this build: the record the next build
-- compares the lake with (int_episodes_changed). Built last, after every episode-scoped model and
-- its tests, so that a build which stops part-way leaves the previous record and the next build
-- recomputes the same episodes again. Kept up to date rather than rewritten: the uploads that left the
-- lake are deleted and those that arrived added (macros/incremental.sql, replace_uploads).
-- depends_on: {{ ref('int_intakes_corrected') }}, {{ ref('int_alliance_ratings_corrected') }},
-- {{ ref('int_followups_corrected') }}, {{ ref('int_sessions_scored') }},
-- {{ ref('int_assessments_scored') }}, {{ ref('int_episodes_summarised') }},
-- {{ ref('fct_sessions') }}, {{ ref('fct_assessments') }}, {{ ref('fct_episode_outcomes') }}

{{ config(materialized='incremental', incremental_strategy='replace_uploads', on_schema_change='fail') }}

select * from {{ ref('int_lake_uploads') }} as lake
{%- if is_incremental() %}
-- the uploads that arrived since the last build
where not exists (
    select 1 from {{ this }} as built
    where {{ same_upload('built', 'lake') }}
)
{%- endif %}
