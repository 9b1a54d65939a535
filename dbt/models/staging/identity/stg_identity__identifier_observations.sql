with source as (
    select * from {{ source('identity', 'identifier_observations') }}
),

renamed as (
    select
        cast(source as string) as record_source,
        cast(record_id as string) as record_id,
        cast(id_type as string) as identifier_type,
        cast(value as string) as identifier_value,
        cast(node as bigint) as identifier_node,
        cast(record_ts as timestamp) as recorded_at,
        cast(market as string) as market
    from source
)

select * from renamed
