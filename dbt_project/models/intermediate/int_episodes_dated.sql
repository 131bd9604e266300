-- One row per treatment episode: its intake month, the registry's data month, and the whole months
-- between them (SPEC section 6). The intake month is a date element of an individual: it stays in the
-- warehouse and only the months elapsed reach a mart, as eligibility counts per site.

with

episodes as (

    select episode_key, site_id, client_key, episode from {{ ref('int_intakes_corrected') }}

),

-- every accepted version of every intake row: the first one says when the intake arrived
intake_versions as (

    {{ without_withdrawn_clients(ref('stg_intake')) }}

),

intake_months as (

    select
        site_id,
        client_key,
        episode,
        min(upload_month) as intake_month
    from intake_versions
    group by site_id, client_key, episode

),

-- the month folders holding any accepted upload, of any kind
upload_months as (

    select upload_month from {{ ref('int_lake_uploads') }}

),

data_month as (

    select max(upload_month) as data_month from upload_months

),

dated as (

    select
        episodes.episode_key,
        episodes.site_id,
        intake_months.intake_month,
        data_month.data_month,
        {{ month_number('data_month.data_month') }} - {{ month_number('intake_months.intake_month') }}
            as months_since_intake
    from episodes
    inner join intake_months
        on episodes.site_id = intake_months.site_id
        and episodes.client_key = intake_months.client_key
        and episodes.episode = intake_months.episode
    cross join data_month

)

select * from dated
