with source as (
    select * from {{ source('events', 'events') }}
),

renamed as (
    select
        cast(message_id as string) as event_id,
        cast(type as string) as event_type,
        cast(event as string) as event_name,
        cast(name as string) as screen_name,
        cast(user_id as string) as user_id,
        cast(anonymous_id as string) as anonymous_id,
        cast(device_id as string) as device_id,
        cast(channel as string) as channel,
        cast(market as string) as market,
        cast(traits as string) as traits_json,
        cast(properties as string) as properties_json,
        -- Traits an identify call gives about the person (Segment traits).
        {{ clean_name("get_json_object(traits, '$.firstName')") }} as trait_first_name,
        {{ clean_name("get_json_object(traits, '$.lastName')") }} as trait_last_name,
        -- Properties of track calls: orders and products, their value, consent changes.
        get_json_object(properties, '$.order_id') as order_id,
        get_json_object(properties, '$.product_id') as product_id,
        try_cast(get_json_object(properties, '$.revenue') as double) as revenue,
        coalesce(
            try_cast(get_json_object(properties, '$.value') as double),
            try_cast(get_json_object(properties, '$.revenue') as double)
        ) as event_value,
        upper(get_json_object(properties, '$.currency')) as currency,
        cast(aggregate(
            from_json(get_json_object(properties, '$.products'), 'array<struct<quantity:int>>'),
            0,
            (total, product) -> total + coalesce(product.quantity, 0)
        ) as int) as item_count,
        lower(get_json_object(properties, '$.purpose')) as consent_purpose,
        lower(get_json_object(properties, '$.channel')) as consent_channel,
        try_cast(get_json_object(properties, '$.granted') as boolean) as is_consent_granted,
        cast(event_ts as timestamp) as occurred_at,
        cast(received_at as timestamp) as received_at,
        cast(_ingested_at as timestamp) as ingested_at
    from source
)

select * from renamed
