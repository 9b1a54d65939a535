{#- Any customer id ever issued -> the id it resolves to now, so that ids kept by destinations,
    models or analysts before a merge still find their profile. -#}
with issued as (
    select * from {{ ref('stg_identity__customer_ids') }}
)

select
    customer_id,
    current_customer_id,
    status,
    created_at,
    retired_at
from issued
