-- One row per treatment episode: the latest uploaded version of each intake row, withdrawn clients
-- left out.

with

intakes as (

    {{ without_withdrawn_clients(ref('stg_intake')) }}

),

latest as (

    {{ latest_version_per_key('intakes', ['site_id', 'client_key', 'episode']) }}

),

keyed as (

    select
        {{ episode_key('latest.client_key', 'latest.episode') }} as episode_key,
        latest.*
    from latest

)

select * from keyed
