{#- The unified profile: one row per active customer id, with identifiers per type, surviving
    traits and where each came from, consent per purpose and channel, market and activity span. -#}
{%- set traits = var('profile_traits') -%}
with identifiers as (
    select * from {{ ref('int_customer_identifiers_aggregated') }}
),

records as (
    select * from {{ ref('int_records_resolved') }}
),

traits as (
    select * from {{ ref('int_customer_traits_survived') }}
),

consents as (
    select * from {{ ref('dim_customer_consents') }}
),

activity as (
    select
        customer_id,
        min(recorded_at) as first_seen_at,
        max(recorded_at) as last_seen_at,
        sort_array(collect_set(record_source)) as seen_in_sources,
        mode(market) as market
    from records
    group by customer_id
),

traits_pivoted as (
    select
        customer_id,
        {%- for trait in traits %}
            max(case when trait = '{{ trait }}' then trait_value end) as {{ trait }},
            max(case when trait = '{{ trait }}' then winning_source end) as {{ trait }}_source,
        {%- endfor %}
        count(*) as resolved_trait_count
    from traits
    group by customer_id
),

consents_pivoted as (
    select
        customer_id,
        {{ consent_columns(var('consent_purposes'), var('consent_channels')) }},
        max(updated_at) as consent_updated_at
    from consents
    group by customer_id
)

select
    identifiers.customer_id,
    activity.market,
    activity.first_seen_at,
    activity.last_seen_at,
    activity.seen_in_sources,
    {%- for id_type in var('identifier_priorities') %}
        identifiers.{{ id_type }}s,
    {%- endfor %}
    identifiers.identifier_count,
    {%- for trait in traits %}
        traits_pivoted.{{ trait }},
        traits_pivoted.{{ trait }}_source,
    {%- endfor %}
    {%- for purpose in var('consent_purposes') %}
        {%- for channel in var('consent_channels') %}
            coalesce(consents_pivoted.consent_{{ purpose }}_{{ channel }}, 'unknown')
                as consent_{{ purpose }}_{{ channel }},
        {%- endfor %}
    {%- endfor %}
    consents_pivoted.consent_updated_at,
    identifiers.identity_updated_at,
    current_timestamp() as _built_at
from identifiers
left join activity on identifiers.customer_id = activity.customer_id
left join traits_pivoted on identifiers.customer_id = traits_pivoted.customer_id
left join consents_pivoted on identifiers.customer_id = consents_pivoted.customer_id
