with

intakes as (

    select * from {{ ref('int_intakes_corrected') }}

),

treatment as (

    select * from {{ ref('int_episodes_summarised') }}

),

final as (

    select

        ---------- ids
        intakes.episode_key,
        intakes.site_id,
        intakes.client_key,
        intakes.episode,

        ---------- client at intake
        intakes.intake_year,
        intakes.age_years,
        intakes.sex,
        intakes.weight_kg,
        intakes.primary_diagnosis,
        intakes.prior_psychedelic_use,
        intakes.concurrent_antidepressant,

        ---------- planned treatment
        intakes.medicine,
        intakes.route,
        intakes.protocol,
        intakes.planned_medicine_sessions,

        ---------- treatment received
        treatment.sessions_reported,
        treatment.treated,
        treatment.finished_course,
        treatment.medicine_sessions,
        treatment.total_dose_mg,
        -- total_dose_mg is null for untreated episodes, so the z-score is among treated episodes
        {{ z_score('treatment.total_dose_mg', 'intakes.medicine', 'intakes.episode_key') }} as dose_z,

        ---------- alliance and process
        treatment.alliance_prep,
        treatment.alliance_post,
        treatment.rupture_count,
        treatment.repaired_count,

        ---------- session experience
        treatment.complete_mystical,
        treatment.ebi_max

    from intakes
    inner join treatment
        on intakes.episode_key = treatment.episode_key

)

select * from final
