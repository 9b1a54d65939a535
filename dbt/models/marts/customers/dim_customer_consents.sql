{#- Latest consent per customer, purpose and channel. A later signal overrides an earlier one,
    whatever its source; the source and time of the deciding signal are kept. -#}
with signals as (
    select * from {{ ref('int_consent_events_unioned') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by customer_id, purpose, channel
            order by consented_at desc, case when status = 'denied' then 0 else 1 end
        ) as signal_rank
    from signals
)

select
    md5(concat_ws('|', customer_id, purpose, channel)) as consent_key,
    customer_id,
    purpose,
    channel,
    status,
    record_source as decided_by_source,
    consented_at as updated_at
from ranked
where signal_rank = 1
