with

source as (

    select * from {{ source('registry_home', 'sites') }}

),

renamed as (

    select

        ----------  ids
        cast(trim(site_id) as varchar) as site_id,

        ---------- text
        cast(site_name as varchar) as site_name,
        cast(region as varchar) as region,

        ---------- months (YYYY-MM text, like the upload months)
        cast(trim(active_from) as varchar) as active_from

    from source

)

select * from renamed
