{#- Every value a source gave for a profile trait, keyed by customer. The list of traits is
    lakecdp.kernel.config.PROFILE_TRAITS; survivorship picks one value per trait downstream. -#}
with records as (
    select * from {{ ref('int_records_resolved') }}
),

crm as (
    select * from {{ ref('stg_crm__contacts') }}
),

loyalty as (
    select * from {{ ref('stg_loyalty__members') }}
),

marketplace as (
    select * from {{ ref('stg_marketplace__orders') }}
),

identify_calls as (
    select * from {{ ref('stg_events__events') }}
    where event_type = 'identify'
),

crm_traits as (
    select
        'crm' as record_source,
        contact_id as record_id,
        updated_at as observed_at,
        stack(
            6,
            'first_name', initcap(trim(first_name)),
            'last_name', initcap(trim(last_name)),
            'date_of_birth', cast(date_of_birth as string),
            'gender', upper(trim(gender)),
            'city', initcap(trim(city)),
            'postcode', trim(postcode)
        ) as (trait, trait_value)
    from crm
),

loyalty_traits as (
    select
        'loyalty' as record_source,
        member_id as record_id,
        updated_at as observed_at,
        stack(
            4,
            'first_name', initcap(trim(first_name)),
            'last_name', initcap(trim(last_name)),
            'date_of_birth', cast(date_of_birth as string),
            'loyalty_tier', lower(trim(tier))
        ) as (trait, trait_value)
    from loyalty
),

marketplace_traits as (
    select
        'marketplace' as record_source,
        order_id as record_id,
        ordered_at as observed_at,
        'postcode' as trait,
        trim(postcode) as trait_value
    from marketplace
),

event_traits as (
    select
        'events' as record_source,
        event_id as record_id,
        occurred_at as observed_at,
        stack(
            2,
            'first_name', initcap(trim(get_json_object(traits_json, '$.firstName'))),
            'last_name', initcap(trim(get_json_object(traits_json, '$.lastName')))
        ) as (trait, trait_value)
    from identify_calls
),

all_traits as (
    select * from crm_traits
    union all
    select * from loyalty_traits
    union all
    select * from marketplace_traits
    union all
    select * from event_traits
)

select
    records.customer_id,
    all_traits.trait,
    all_traits.trait_value,
    all_traits.record_source,
    all_traits.record_id,
    all_traits.observed_at
from all_traits
inner join records
    on
        all_traits.record_source = records.record_source
        and all_traits.record_id = records.record_id
where all_traits.trait_value is not null and all_traits.trait_value != ''
