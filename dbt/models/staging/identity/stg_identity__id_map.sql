with source as (
    select * from {{ source('identity', 'id_map') }}
),

renamed as (
    select
        cast(node as bigint) as identifier_node,
        cast(id_type as string) as identifier_type,
        cast(value as string) as identifier_value,
        cast(customer_id as string) as customer_id,
        cast(updated_at as timestamp) as mapped_at
    from source
)

select * from renamed
