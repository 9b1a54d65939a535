{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        on_schema_change='fail',
        unique_key='order_key',
    )
}}
{#- Orders from every channel with amounts in the reporting currency
    (profiles.reporting_currency, rates from the currency_rates seed). Incremental: new orders
    and orders whose customer changed since the last build. -#}
with orders as (
    select * from {{ ref('int_orders_unioned') }}
),

rates as (
    select * from {{ ref('currency_rates') }}
),

reporting_rate as (
    select usd_per_unit from rates
    where currency = '{{ var("reporting_currency") }}'
),

selected as (
    select orders.*
    from orders
    {% if is_incremental() %}
        left join {{ this }} as loaded on orders.order_key = loaded.order_key
        where loaded.order_key is null or not (loaded.customer_id <=> orders.customer_id)
    {% endif %}
)

select
    selected.order_key,
    selected.record_source,
    selected.source_order_id,
    selected.customer_id,
    selected.channel,
    selected.market,
    selected.ordered_at,
    selected.amount,
    selected.currency,
    round(selected.amount * rates.usd_per_unit / reporting_rate.usd_per_unit, 2)
        as amount_reporting,
    '{{ var("reporting_currency") }}' as reporting_currency,
    selected.item_count
from selected
left join rates on selected.currency = rates.currency
cross join reporting_rate
