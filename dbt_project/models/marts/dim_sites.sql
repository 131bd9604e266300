with

sites as (

    select * from {{ ref('stg_sites') }}

),

-- the months of the site's intake, alliance and follow-up uploads (a withdrawal is not data)
uploads as (

    select site_id, upload_month from {{ ref('int_lake_uploads') }}
    where kind <> 'withdrawals'

),

upload_months as (

    select
        site_id,
        min(upload_month) as first_upload_month,
        max(upload_month) as last_upload_month
    from uploads
    group by site_id

),

final as (

    select
        sites.site_id,
        sites.site_name,
        sites.region,
        sites.active_from,
        upload_months.first_upload_month,
        upload_months.last_upload_month
    from sites
    left join upload_months
        on sites.site_id = upload_months.site_id

)

select * from final
