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
        cast(event_ts as timestamp) as occurred_at,
        cast(received_at as timestamp) as received_at,
        cast(_ingested_at as timestamp) as ingested_at
    from source
)

select * from renamed
