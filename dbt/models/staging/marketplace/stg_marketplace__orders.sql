with source as (
    {{ without_whole_row_copies('marketplace', source('marketplace', 'orders')) }}
),

renamed as (
    select
        cast(order_id as string) as order_id,
        cast(_event_ts as timestamp) as ordered_at,
        cast(_market as string) as market,
        cast(buyer_id as string) as buyer_id,
        cast(buyer_name as string) as buyer_name,
        {{ clean_text('postcode') }} as postcode,
        cast(platform as string) as platform,
        try_cast(amount as decimal(18, 2)) as amount,
        upper(cast(currency as string)) as currency,
        try_cast(item_count as int) as item_count,
        cast(_source_file as string) as source_file,
        row_hash,
        {{ is_latest_copy('order_id') }} as is_latest_copy,
        cast(_ingested_at as timestamp) as ingested_at
    from source
)

select * from renamed
