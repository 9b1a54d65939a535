with id_map as (
    select * from {{ ref('stg_identity__id_map') }}
),

aggregated as (
    select
        customer_id,
        {%- for id_type in var('identifier_priorities') %}
            sort_array(
                collect_set(case when identifier_type = '{{ id_type }}' then identifier_value end)
            )
                as {{ id_type }}s,
        {%- endfor %}
        count(*) as identifier_count,
        max(mapped_at) as identity_updated_at
    from id_map
    group by customer_id
)

select * from aggregated
