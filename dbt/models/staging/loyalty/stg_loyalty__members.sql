with source as (
    select * from {{ source('loyalty', 'members') }}
),

renamed as (
    select
        cast(member_id as string) as member_id,
        cast(_event_ts as timestamp) as updated_at,
        cast(_market as string) as market,
        cast(email as string) as email,
        cast(phone as string) as phone,
        cast(first_name as string) as first_name,
        cast(last_name as string) as last_name,
        try_cast(date_of_birth as date) as date_of_birth,
        cast(tier as string) as tier,
        cast(_ingested_at as timestamp) as ingested_at
    from source
)

select * from renamed
