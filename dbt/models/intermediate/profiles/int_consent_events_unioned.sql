{#- Every consent signal, keyed by customer: the CRM's opt-in flags (marketing by e-mail and
    SMS) and consent_updated events from web and app (any purpose and channel). -#}
with records as (
    select * from {{ ref('int_records_resolved') }}
),

crm as (
    select * from {{ ref('stg_crm__contacts') }}
),

events as (
    select * from {{ ref('stg_events__events') }}
    where event_name = 'consent_updated'
),

crm_consents as (
    select
        'crm' as record_source,
        contact_id as record_id,
        md5(concat_ws('|', source_file, row_hash)) as record_version,
        updated_at as consented_at,
        'marketing' as purpose,
        channel,
        case when opted_in then 'granted' else 'denied' end as status
    from crm
        lateral view stack(2, 'email', is_email_opt_in, 'sms', is_sms_opt_in) as channel, opted_in
    where opted_in is not null
),

event_consents as (
    select
        'events' as record_source,
        event_id as record_id,
        event_id as record_version,
        occurred_at as consented_at,
        consent_purpose as purpose,
        consent_channel as channel,
        case is_consent_granted
            when true then 'granted'
            when false then 'denied'
        end as status
    from events
),

all_consents as (
    select * from crm_consents
    union all
    select * from event_consents
)

select
    records.customer_id,
    all_consents.purpose,
    all_consents.channel,
    all_consents.status,
    all_consents.record_source,
    all_consents.record_id,
    all_consents.record_version,
    all_consents.consented_at
from all_consents
inner join records
    on
        all_consents.record_source = records.record_source
        and all_consents.record_id = records.record_id
where
    all_consents.status is not null
    and all_consents.purpose in ({{ quoted_list(var('consent_purposes')) }})
    and all_consents.channel in ({{ quoted_list(var('consent_channels')) }})
