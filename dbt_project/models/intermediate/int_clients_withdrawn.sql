-- One row per client whose consent is withdrawn: nothing of theirs enters the marts.

with

withdrawals as (

    select * from {{ ref('stg_withdrawals') }}

),

clients as (

    select
        site_id,
        client_key,
        min(withdrawn_month) as withdrawn_month
    from withdrawals
    group by site_id, client_key

)

select * from clients
