{#- People who abandoned a cart in the last `cart_abandonment_hours` hours, have not bought
    since, and may be contacted for marketing on at least one channel. -#}
with metrics as (
    select * from {{ ref('fct_customer_metrics') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

abandoners as (
    select *
    from metrics
    where
        last_cart_abandoned_at > as_of - interval {{ var('cart_abandonment_hours') }} hours
        and (last_order_at is null or last_order_at < last_cart_abandoned_at)
),

reachable as (
    select
        customer_id,
        filter(
            array(
                {%- for channel in var('consent_channels') %}
                    if(consent_marketing_{{ channel }} = 'granted', '{{ channel }}', null)
                    {{- "," if not loop.last }}
                {%- endfor %}
            ),
            channel -> channel is not null
        ) as marketing_channels
    from customers
)

select
    abandoners.customer_id,
    abandoners.last_cart_abandoned_at,
    abandoners.last_cart_abandoned_value,
    reachable.marketing_channels,
    abandoners.as_of
from abandoners
inner join reachable on abandoners.customer_id = reachable.customer_id
where size(reachable.marketing_channels) > 0
