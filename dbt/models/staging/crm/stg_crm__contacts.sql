with source as (
    select * from {{ source('crm', 'contacts') }}
),

renamed as (
    select
        cast(contact_id as string) as contact_id,
        cast(_event_ts as timestamp) as updated_at,
        cast(_market as string) as market,
        cast(email as string) as email,
        cast(mobile as string) as phone,
        cast(first_name as string) as first_name,
        cast(last_name as string) as last_name,
        try_cast(date_of_birth as date) as date_of_birth,
        cast(gender as string) as gender,
        cast(city as string) as city,
        cast(postcode as string) as postcode,
        try_cast(email_opt_in as boolean) as is_email_opt_in,
        try_cast(sms_opt_in as boolean) as is_sms_opt_in,
        cast(_ingested_at as timestamp) as ingested_at
    from source
)

select * from renamed
