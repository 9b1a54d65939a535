{#- Orders from every channel in one shape: POS transactions, marketplace orders and
    purchase_completed events from web and app, keyed by customer. -#}
with records as (
    select * from {{ ref('int_records_resolved') }}
),

pos as (
    {#- Tills and marketplaces re-send orders: one copy of each counts (is_latest_copy). -#}
    select * from {{ ref('stg_pos__transactions') }}
    where is_latest_copy
),

marketplace as (
    select * from {{ ref('stg_marketplace__orders') }}
    where is_latest_copy
),

purchases as (
    select * from {{ ref('stg_events__events') }}
    where event_name = 'purchase_completed'
),

pos_orders as (
    select
        'pos' as record_source,
        transaction_id as record_id,
        transaction_id as source_order_id,
        'pos' as channel,
        market,
        transacted_at as ordered_at,
        cast(amount as double) as amount,
        currency,
        item_count
    from pos
),

marketplace_orders as (
    select
        'marketplace' as record_source,
        order_id as record_id,
        order_id as source_order_id,
        'marketplace' as channel,
        market,
        ordered_at,
        cast(amount as double) as amount,
        currency,
        item_count
    from marketplace
),

event_orders as (
    select
        'events' as record_source,
        event_id as record_id,
        coalesce(order_id, event_id) as source_order_id,
        channel,
        market,
        occurred_at as ordered_at,
        revenue as amount,
        currency,
        item_count
    from purchases
),

all_orders as (
    select * from pos_orders
    union all
    select * from marketplace_orders
    union all
    select * from event_orders
)

select
    md5(concat_ws('|', all_orders.record_source, all_orders.record_id)) as order_key,
    all_orders.record_source,
    all_orders.record_id,
    all_orders.source_order_id,
    records.customer_id,
    all_orders.channel,
    all_orders.market,
    all_orders.ordered_at,
    all_orders.amount,
    all_orders.currency,
    all_orders.item_count
from all_orders
left join records
    on
        all_orders.record_source = records.record_source
        and all_orders.record_id = records.record_id
