with

source as (

    select * from {{ lake_source('followup') }}

),

renamed as (

    select

        ----------  ids
        cast(site_id as varchar) as site_id,
        cast(client_key as varchar) as client_key,
        cast(episode as integer) as episode,
        cast(timepoint as varchar) as timepoint,

        ---------- timing
        cast(days_since_intake as integer) as days_since_intake,

        ---------- questionnaire items
        {{ cast_items('phq9', 9) }},
        {{ cast_items('gad7', 7) }},
        {{ cast_items('who5', 5) }},
        cast(pcl5_total as integer) as pcl5_total,

        ---------- safety since last contact
        cast(serious_adverse_event as boolean) as serious_adverse_event,
        cast(psychiatric_hospitalization as boolean) as psychiatric_hospitalization,

        ---------- lineage
        cast(month as varchar) as upload_month,
        cast(source_row as bigint) as source_row,
        cast(upload_sha256 as varchar) as upload_sha256

    from source

)

select * from renamed
