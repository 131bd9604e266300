with

source as (

    select * from {{ lake_source('alliance') }}

),

renamed as (

    select

        ----------  ids
        cast(site_id as varchar) as site_id,
        cast(client_key as varchar) as client_key,
        cast(episode as integer) as episode,
        cast(session_number as integer) as session_number,
        cast(rater as varchar) as rater,
        cast(therapist_key as varchar) as therapist_key,

        ---------- session
        cast(session_type as varchar) as session_type,
        cast(days_since_intake as integer) as days_since_intake,
        cast(dose_mg as double) as dose_mg,

        ---------- alliance (WAI-SR items)
        {{ cast_items('wai', 12) }},

        ---------- session experience
        cast(meq_mystical as double) as meq_mystical,
        cast(meq_positive_mood as double) as meq_positive_mood,
        cast(meq_transcendence as double) as meq_transcendence,
        cast(meq_ineffability as double) as meq_ineffability,
        {{ cast_items('ebi', 6) }},

        ---------- process and safety
        cast(rupture as boolean) as rupture,
        cast(repair as boolean) as repair,
        cast(adverse_event as varchar) as adverse_event,

        ---------- lineage
        cast(month as varchar) as upload_month,
        cast(source_row as bigint) as source_row,
        cast(upload_sha256 as varchar) as upload_sha256

    from source

)

select * from renamed
