-- One row per treatment episode: the latest uploaded version of each intake row, withdrawn clients
-- left out.

{{ config(materialized='incremental', incremental_strategy='replace_episodes', on_schema_change='fail') }}

with

intakes as (

    {{ without_withdrawn_clients(ref('stg_intake')) }}
    and {{ in_changed_episodes(client_key='client_key', episode='episode') }}

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
