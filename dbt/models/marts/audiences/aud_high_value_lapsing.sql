{#- Customers in the top value band (value to date at or above the `high_value_quantile` of
    buyers) whose last order is more than `lapsing_after_days` but at most `lapsed_after_days`
    ago: worth a win-back before they are gone. -#}
with metrics as (
    select * from {{ ref('fct_customer_metrics') }}
),

threshold as (
    select percentile_approx(value_to_date, {{ var('high_value_quantile') }}) as min_value
    from metrics
    where frequency > 0
)

select
    metrics.customer_id,
    metrics.value_to_date,
    metrics.frequency,
    metrics.recency_days,
    metrics.last_order_at,
    threshold.min_value as high_value_threshold,
    metrics.as_of
from metrics
cross join threshold
where
    metrics.frequency > 0
    and metrics.value_to_date >= threshold.min_value
    and metrics.recency_days > {{ var('lapsing_after_days') }}
    and metrics.recency_days <= {{ var('lapsed_after_days') }}
