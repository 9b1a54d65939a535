{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        on_schema_change='fail',
        unique_key='event_id',
    )
}}
{#- Events keyed by customer. Incremental: each build loads the events ingested since the last
    one, and re-keys the already loaded events whose customer changed (identity merges and
    splits), so a build writes only what is new or moved. -#}
with events as (
    select * from {{ ref('stg_events__events') }}
),

records as (
    select
        record_id,
        customer_id
    from {{ ref('int_records_resolved') }}
    where record_source = 'events'
),

{% if is_incremental() %}
    rekeyed as (
        select loaded.event_id
        from {{ this }} as loaded
        inner join records on loaded.event_id = records.record_id
        where not (loaded.customer_id <=> records.customer_id)
    ),
{% endif %}

selected as (
    select events.*
    from events
    {% if is_incremental() %}
        where
            events.ingested_at > (
                select coalesce(max(previous.ingested_at), timestamp '1970-01-01')
                from {{ this }} as previous
            )
            or events.event_id in (select rekeyed.event_id from rekeyed)
    {% endif %}
)

select
    selected.event_id,
    records.customer_id,
    selected.event_type,
    coalesce(selected.event_name, selected.screen_name, selected.event_type) as event_name,
    selected.channel,
    selected.market,
    selected.occurred_at,
    selected.received_at,
    selected.ingested_at,
    selected.order_id,
    selected.product_id,
    selected.event_value,
    selected.currency
from selected
left join records on selected.event_id = records.record_id
