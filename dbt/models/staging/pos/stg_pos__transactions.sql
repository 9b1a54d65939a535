with source as (
    {{ without_whole_row_copies('pos', source('pos', 'transactions')) }}
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
        cast(_source_file as string) as source_file,
        row_hash,
        {{ is_latest_copy('transaction_id') }} as is_latest_copy,
        cast(_ingested_at as timestamp) as ingested_at
    from source
)

select * from renamed
