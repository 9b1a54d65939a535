with source as (
    {{ without_whole_row_copies('loyalty', source('loyalty', 'members')) }}
),

renamed as (
    select
        cast(member_id as string) as member_id,
        cast(_event_ts as timestamp) as updated_at,
        cast(_market as string) as market,
        cast(email as string) as email,
        cast(phone as string) as phone,
        {{ clean_name('first_name') }} as first_name,
        {{ clean_name('last_name') }} as last_name,
        try_cast(date_of_birth as date) as date_of_birth,
        lower({{ clean_text('tier') }}) as loyalty_tier,
        cast(_source_file as string) as source_file,
        row_hash,
        cast(_ingested_at as timestamp) as ingested_at
    from source
)

select * from renamed
