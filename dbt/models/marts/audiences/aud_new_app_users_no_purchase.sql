{#- People whose first app event is within the last `new_app_user_days` days and who have not
    bought anything on any channel: onboarding nudges, not discounts. -#}
with metrics as (
    select * from {{ ref('fct_customer_metrics') }}
)

select
    customer_id,
    first_app_event_at,
    events_30d,
    as_of
from metrics
where
    first_app_event_at > as_of - interval {{ var('new_app_user_days') }} days
    and frequency = 0
