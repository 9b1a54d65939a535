with source as (
    select * from {{ source('pos', 'transactions') }}
),

renamed as (
    select
        cast(transaction_id as string) as transaction_id,
        cast(_event_ts as timestamp) as transacted_at,
        cast(_market as string) as market,
        cast(store_id as string) as store_id,
        try_cast(amount as decimal(18, 2)) as amount,
        upper(cast(currency as string)) as currency,
        try_cast(item_count as int) as item_count,
        cast(_ingested_at as timestamp) as ingested_at
    from source
)

select * from renamed
