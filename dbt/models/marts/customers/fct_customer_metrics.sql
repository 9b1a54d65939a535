{#- Recency, frequency and monetary value per customer, with 7/30/90-day windows, value to
    date, channel mix and the last cart abandonment, all measured back from `as_of`
    (profiles.as_of: now, the newest event, or a fixed time). -#}
with customers as (
    select customer_id from {{ ref('dim_customers') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
    where customer_id is not null
),

events as (
    select * from {{ ref('fct_events') }}
    where customer_id is not null
),

as_of as (
    select {{ as_of_timestamp() }} as as_of
),

order_metrics as (
    select
        orders.customer_id,
        count(*) as orders_to_date,
        sum(orders.amount_reporting) as value_to_date,
        min(orders.ordered_at) as first_order_at,
        {%- for days in [7, 30, 90] %}
            count_if(orders.ordered_at > as_of.as_of - interval {{ days }} days)
                as orders_{{ days }}d,
            coalesce(sum(
                case
                    when orders.ordered_at > as_of.as_of - interval {{ days }} days
                        then orders.amount_reporting
                end
            ), 0) as value_{{ days }}d,
        {%- endfor %}
        {%- for channel in ['pos', 'web', 'app', 'marketplace'] %}
            count_if(orders.channel = '{{ channel }}') as orders_{{ channel }},
        {%- endfor %}
        max(orders.ordered_at) as last_order_at
    from orders
    cross join as_of
    where orders.ordered_at <= as_of.as_of
    group by orders.customer_id
),

event_metrics as (
    select
        events.customer_id,
        max(events.occurred_at) as last_event_at,
        count_if(events.occurred_at > as_of.as_of - interval 30 days) as events_30d,
        max(case when events.event_name = 'cart_abandoned' then events.occurred_at end)
            as last_cart_abandoned_at,
        max_by(
            events.event_value,
            case when events.event_name = 'cart_abandoned' then events.occurred_at end
        ) as last_cart_abandoned_value,
        min(case when events.channel = 'app' then events.occurred_at end) as first_app_event_at
    from events
    cross join as_of
    where events.occurred_at <= as_of.as_of
    group by events.customer_id
)

select
    customers.customer_id,
    as_of.as_of,
    datediff(as_of.as_of, order_metrics.last_order_at) as recency_days,
    coalesce(order_metrics.orders_to_date, 0) as frequency,
    coalesce(order_metrics.value_to_date, 0) as monetary,
    coalesce(order_metrics.value_to_date, 0) as value_to_date,
    round(order_metrics.value_to_date / order_metrics.orders_to_date, 2) as average_order_value,
    order_metrics.first_order_at,
    order_metrics.last_order_at,
    {%- for days in [7, 30, 90] %}
        coalesce(order_metrics.orders_{{ days }}d, 0) as orders_{{ days }}d,
        coalesce(order_metrics.value_{{ days }}d, 0) as value_{{ days }}d,
    {%- endfor %}
    {%- for channel in ['pos', 'web', 'app', 'marketplace'] %}
        coalesce(order_metrics.orders_{{ channel }}, 0) as orders_{{ channel }},
        round(coalesce(order_metrics.orders_{{ channel }} / order_metrics.orders_to_date, 0), 3)
            as share_{{ channel }},
    {%- endfor %}
    event_metrics.last_event_at,
    coalesce(event_metrics.events_30d, 0) as events_30d,
    event_metrics.last_cart_abandoned_at,
    event_metrics.last_cart_abandoned_value,
    event_metrics.first_app_event_at
from customers
cross join as_of
left join order_metrics on customers.customer_id = order_metrics.customer_id
left join event_metrics on customers.customer_id = event_metrics.customer_id
