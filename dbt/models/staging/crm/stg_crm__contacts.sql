with source as (
    {{ without_whole_row_copies('crm', source('crm', 'contacts')) }}
),

renamed as (
    select
        cast(contact_id as string) as contact_id,
        cast(_event_ts as timestamp) as updated_at,
        cast(_market as string) as market,
        cast(email as string) as email,
        cast(mobile as string) as phone,
        {{ clean_name('first_name') }} as first_name,
        {{ clean_name('last_name') }} as last_name,
        try_cast(date_of_birth as date) as date_of_birth,
        upper({{ clean_text('gender') }}) as gender,
        {{ clean_name('city') }} as city,
        {{ clean_text('postcode') }} as postcode,
        try_cast(email_opt_in as boolean) as is_email_opt_in,
        try_cast(sms_opt_in as boolean) as is_sms_opt_in,
        cast(_source_file as string) as source_file,
        row_hash,
        cast(_ingested_at as timestamp) as ingested_at
    from source
)

select * from renamed
