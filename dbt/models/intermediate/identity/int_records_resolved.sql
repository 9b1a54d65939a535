{#- Which customer each source record and event belongs to: the customer of the record's
    highest-priority identifier that is mapped (hubs and rejected values are not), exactly as
    the identity quality report labels records (spark_jobs/identity/quality.py). -#}
with observations as (
    select * from {{ ref('stg_identity__identifier_observations') }}
),

id_map as (
    select
        identifier_node,
        customer_id
    from {{ ref('stg_identity__id_map') }}
),

priorities as (
    {{ identifier_priorities() }}
),

candidates as (
    select
        observations.record_source,
        observations.record_id,
        observations.recorded_at,
        observations.market,
        id_map.customer_id,
        row_number() over (
            partition by observations.record_source, observations.record_id
            order by coalesce(priorities.priority, 0) desc, observations.identifier_node asc
        ) as candidate_rank
    from observations
    inner join id_map on observations.identifier_node = id_map.identifier_node
    left join priorities on observations.identifier_type = priorities.identifier_type
)

select
    record_source,
    record_id,
    customer_id,
    recorded_at,
    market
from candidates
where candidate_rank = 1
