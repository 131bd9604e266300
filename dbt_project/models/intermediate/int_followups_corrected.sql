-- One row per follow-up assessment: the latest uploaded version of each follow-up row, flagged as
-- an orphan while its episode has no intake (orphans stay out of the marts until the intake arrives).

with

followups as (

    {{ without_withdrawn_clients(ref('stg_followup')) }}

),

episodes as (

    select episode_key from {{ ref('int_intakes_corrected') }}

),

latest as (

    {{ latest_version_per_key('followups', ['site_id', 'client_key', 'episode', 'timepoint']) }}

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
