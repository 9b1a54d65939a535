with source as (
    select * from {{ source('identity', 'customer_ids') }}
),

renamed as (
    select
        cast(customer_id as string) as customer_id,
        cast(status as string) as status,
        cast(current_customer_id as string) as current_customer_id,
        cast(created_at as timestamp) as created_at,
        cast(retired_at as timestamp) as retired_at
    from source
)

select * from renamed
