with

source as (

    select * from {{ lake_source('intake') }}

),

renamed as (

    select

        ----------  ids
        cast(site_id as varchar) as site_id,
        cast(client_key as varchar) as client_key,
        cast(episode as integer) as episode,

        ---------- episode attributes
        cast(intake_year as integer) as intake_year,
        cast(age_years as integer) as age_years,
        cast(sex as varchar) as sex,
        cast(zip3 as varchar) as zip3,
        cast(primary_diagnosis as varchar) as primary_diagnosis,
        cast(medicine as varchar) as medicine,
        cast(route as varchar) as route,
        cast(protocol as varchar) as protocol,
        cast(planned_medicine_sessions as integer) as planned_medicine_sessions,
        cast(weight_kg as double) as weight_kg,
        cast(prior_psychedelic_use as varchar) as prior_psychedelic_use,
        cast(concurrent_antidepressant as boolean) as concurrent_antidepressant,

        ---------- baseline questionnaire items
        {{ cast_items('phq9', 9) }},
        {{ cast_items('gad7', 7) }},
        {{ cast_items('who5', 5) }},
        cast(pcl5_total as integer) as pcl5_total,

        ---------- lineage
        cast(month as varchar) as upload_month,
        cast(source_row as bigint) as source_row,
        cast(upload_sha256 as varchar) as upload_sha256

    from source

)

select * from renamed
