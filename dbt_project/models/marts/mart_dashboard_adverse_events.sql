-- One row per medicine and worst adverse event of a medicine session: a medicine session counts once,
-- at the most severe adverse event either rater reported (the dashboards' safety page).

with

ranked as (

    select
        episode_key,
        session_number,
        case adverse_event when 'severe' then 3 when 'moderate' then 2 when 'mild' then 1 else 0 end
            as severity
    from {{ ref('fct_sessions') }}
    where session_type = 'medicine'

),

medicine_sessions as (

    select episode_key, session_number, max(severity) as severity
    from ranked
    group by episode_key, session_number

)

select
    episodes.medicine,
    cast(case medicine_sessions.severity
        when 3 then 'severe' when 2 then 'moderate' when 1 then 'mild' else 'none'
    end as {{ dbt.type_string() }}) as worst_adverse_event,
    cast(count(*) as integer) as medicine_sessions
from medicine_sessions
inner join {{ ref('dim_episodes') }} as episodes
    on medicine_sessions.episode_key = episodes.episode_key
group by episodes.medicine, medicine_sessions.severity
