{#- One value per customer and trait, chosen by the trait's survivorship rule
    (lakecdp.yaml profiles.survivorship): most_recent, source_priority or most_frequent.
    Ties fall back to the newer value, then the more trusted source, then the lowest value. -#}
with traits as (
    select * from {{ ref('int_customer_traits_unioned') }}
),

rules as (
    {{ survivorship_rules(var('profile_traits')) }}
),

scored as (
    select
        traits.customer_id,
        traits.trait,
        traits.trait_value,
        traits.record_source,
        traits.observed_at,
        rules.rule,
        case
            when array_position(rules.trusted_sources, traits.record_source) = 0 then 1000
            else array_position(rules.trusted_sources, traits.record_source)
        end as source_rank,
        count(*) over (
            partition by traits.customer_id, traits.trait, traits.trait_value
        ) as value_frequency
    from traits
    inner join rules on traits.trait = rules.trait
),

ranked as (
    select
        *,
        row_number() over (
            partition by customer_id, trait
            order by
                case when rule = 'most_frequent' then value_frequency end desc nulls last,
                case when rule = 'source_priority' then source_rank end asc nulls last,
                observed_at desc,
                source_rank asc,
                trait_value asc
        ) as value_rank
    from scored
    where rule != 'source_priority' or source_rank < 1000
)

select
    customer_id,
    trait,
    trait_value,
    record_source as winning_source,
    rule as survivorship_rule,
    observed_at as winning_observed_at
from ranked
where value_rank = 1
