with

source as (

    select * from {{ lake_source('withdrawals') }}

),

renamed as (

    select

        ----------  ids
        cast(site_id as varchar) as site_id,
        cast(client_key as varchar) as client_key,

        ---------- when (the month the withdrawal was uploaded)
        cast(month as varchar) as withdrawn_month,

        ---------- lineage
        cast(upload_sha256 as varchar) as upload_sha256

    from source

)

select * from renamed
