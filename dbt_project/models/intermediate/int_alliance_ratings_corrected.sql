-- One row per session and rater: the latest uploaded version of each alliance row, flagged as an
-- orphan while its episode has no intake (orphans stay out of the marts until the intake arrives).

with

ratings as (

    {{ without_withdrawn_clients(ref('stg_alliance')) }}

),

episodes as (

    select episode_key from {{ ref('int_intakes_corrected') }}

),

latest as (

    {{ latest_version_per_key('ratings', ['site_id', 'client_key', 'episode', 'session_number', 'rater']) }}

),

keyed as (

    select
        {{ episode_key('latest.client_key', 'latest.episode') }} as episode_key,
        latest.*
    from latest

),

flagged as (

    select
        keyed.*,
        episodes.episode_key is null as is_orphan
    from keyed
    left join episodes
        on keyed.episode_key = episodes.episode_key

)

select * from flagged
