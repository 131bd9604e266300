-- One row per treatment episode (every intake): what treatment the episode received, according to
-- its session rows. Session rows are per rater, so sessions are counted as distinct session numbers.
-- Per episode only (dose_z, which compares episodes, is computed in dim_episodes), so that an
-- incremental build recomputes just the changed episodes.

{{ config(materialized='incremental', incremental_strategy='replace_episodes', on_schema_change='fail') }}

with

episodes as (

    select episode_key from {{ ref('int_intakes_corrected') }}
    where {{ in_changed_episodes('episode_key') }}

),

ratings as (

    select * from {{ ref('int_sessions_scored') }}
    where {{ in_changed_episodes('episode_key') }}

),

-- one row per session (the rater rows of a session folded together)
sessions as (

    select
        episode_key,
        session_number,
        min(days_since_intake) as days_since_intake,
        max(case when session_type = 'medicine' then 1 else 0 end) = 1 as is_medicine,
        -- one dose per medicine session, whichever rater row carries it
        max(case when session_type = 'medicine' then dose_mg end) as dose_mg,
        max(case when rupture then 1 else 0 end) = 1 as had_rupture,
        max(case when repair then 1 else 0 end) = 1 as had_repair
    from ratings
    group by episode_key, session_number

),

-- first and last medicine session of each episode, by day and then session number
medicine_order as (

    select
        episode_key,
        session_number,
        days_since_intake,
        row_number() over (
            partition by episode_key order by days_since_intake, session_number
        ) as rank_from_first,
        row_number() over (
            partition by episode_key order by days_since_intake desc, session_number desc
        ) as rank_from_last
    from sessions
    where is_medicine

),

medicine_bounds as (

    select
        episode_key,
        max(case when rank_from_first = 1 then days_since_intake end) as first_medicine_day,
        max(case when rank_from_first = 1 then session_number end) as first_medicine_session,
        max(case when rank_from_last = 1 then days_since_intake end) as last_medicine_day,
        max(case when rank_from_last = 1 then session_number end) as last_medicine_session
    from medicine_order
    group by episode_key

),

-- client ratings of preparation sessions before the first medicine session, latest first
prep_ratings as (

    select
        ratings.episode_key,
        ratings.wai_total,
        row_number() over (
            partition by ratings.episode_key
            order by ratings.days_since_intake desc, ratings.session_number desc
        ) as recency
    from ratings
    inner join medicine_bounds
        on ratings.episode_key = medicine_bounds.episode_key
    where ratings.rater = 'client'
        and ratings.session_type = 'preparation'
        and {{ session_before('ratings.days_since_intake', 'ratings.session_number',
                              'medicine_bounds.first_medicine_day', 'medicine_bounds.first_medicine_session') }}

),

-- integration sessions after the last medicine session (any rater), earliest first
integration_ratings as (

    select
        ratings.episode_key,
        ratings.rater,
        ratings.wai_total,
        row_number() over (
            partition by ratings.episode_key, ratings.rater
            order by ratings.days_since_intake, ratings.session_number
        ) as earliness
    from ratings
    inner join medicine_bounds
        on ratings.episode_key = medicine_bounds.episode_key
    where ratings.session_type = 'integration'
        and {{ session_before('medicine_bounds.last_medicine_day', 'medicine_bounds.last_medicine_session',
                              'ratings.days_since_intake', 'ratings.session_number') }}

),

alliance as (

    select
        medicine_bounds.episode_key,
        prep.wai_total as alliance_prep,
        post.wai_total as alliance_post
    from medicine_bounds
    left join prep_ratings as prep
        on medicine_bounds.episode_key = prep.episode_key
        and prep.recency = 1
    left join integration_ratings as post
        on medicine_bounds.episode_key = post.episode_key
        and post.rater = 'client'
        and post.earliness = 1

),

integrated as (

    select distinct episode_key
    from integration_ratings

),

session_counts as (

    select
        episode_key,
        count(*) as sessions_reported,
        sum(case when is_medicine then 1 else 0 end) as medicine_sessions,
        -- summed exactly (as decimals), so the total does not depend on the order rows are read in:
        -- an incremental build and a full one give the same number to the last bit
        cast(sum(case when is_medicine then cast(dose_mg as decimal(38, 10)) end) as double) as total_dose_mg,
        sum(case when had_rupture then 1 else 0 end) as rupture_count,
        sum(case when had_repair then 1 else 0 end) as repaired_count
    from sessions
    group by episode_key

),

experience as (

    select
        episode_key,
        max(case when complete_mystical then 1 when not complete_mystical then 0 end) = 1
            as complete_mystical,
        max(ebi_score) as ebi_max
    from ratings
    group by episode_key

),

summarised as (

    select
        episodes.episode_key,
        cast(coalesce(session_counts.sessions_reported, 0) as integer) as sessions_reported,
        coalesce(session_counts.medicine_sessions, 0) > 0 as treated,
        coalesce(session_counts.medicine_sessions, 0) > 0
            and integrated.episode_key is not null as finished_course,
        cast(coalesce(session_counts.medicine_sessions, 0) as integer) as medicine_sessions,
        session_counts.total_dose_mg,
        alliance.alliance_prep,
        alliance.alliance_post,
        cast(coalesce(session_counts.rupture_count, 0) as integer) as rupture_count,
        cast(coalesce(session_counts.repaired_count, 0) as integer) as repaired_count,
        experience.complete_mystical,
        experience.ebi_max
    from episodes
    left join session_counts
        on episodes.episode_key = session_counts.episode_key
    left join alliance
        on episodes.episode_key = alliance.episode_key
    left join integrated
        on episodes.episode_key = integrated.episode_key
    left join experience
        on episodes.episode_key = experience.episode_key

)

select * from summarised
