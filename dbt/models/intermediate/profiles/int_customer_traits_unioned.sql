{#- Every value a source gave for a profile trait, keyed by customer: the sources that feed
    profiles (var trait_sources, from lakecdp.yaml sources.<name>.profile) and identify calls.
    Staging has cleaned the values (blank is null); survivorship picks one per trait downstream. -#}
{%- set trait_sources = var('trait_sources') -%}
with records as (
    select * from {{ ref('int_records_resolved') }}
),

{% for source_name, spec in trait_sources.items() %}
    traits_from_{{ source_name }} as (
        select
            '{{ source_name }}' as record_source,
            {{ spec['record_id'] }} as record_id,
            md5(concat_ws('|', source_file, row_hash)) as record_version,
            {{ spec['observed_at'] }} as observed_at,
            stack(
                {{ spec['traits'] | length }},
                {%- for trait in spec['traits'] %}
                    '{{ trait }}', cast({{ trait }} as string){{ "," if not loop.last }}
                {%- endfor %}
            ) as (trait, trait_value)
        from {{ ref(spec['model']) }}
    ),

{% endfor %}
traits_from_events as (
    select
        'events' as record_source,
        event_id as record_id,
        event_id as record_version,
        occurred_at as observed_at,
        stack(
            2,
            'first_name', trait_first_name,
            'last_name', trait_last_name
        ) as (trait, trait_value)
    from {{ ref('stg_events__events') }}
    where event_type = 'identify'
),

all_traits as (
    {%- for source_name in trait_sources %}
        select * from traits_from_{{ source_name }}
        union all
    {%- endfor %}
    select * from traits_from_events
)

select
    records.customer_id,
    all_traits.trait,
    all_traits.trait_value,
    all_traits.record_source,
    all_traits.record_id,
    all_traits.record_version,
    all_traits.observed_at
from all_traits
inner join records
    on
        all_traits.record_source = records.record_source
        and all_traits.record_id = records.record_id
where all_traits.trait_value is not null and all_traits.trait_value != ''
