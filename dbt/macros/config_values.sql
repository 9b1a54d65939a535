{#- Project configuration (lakecdp.yaml, passed as vars by `lakecdp dbt`) as inline tables. -#}

{% macro identifier_priorities() -%}
    select * from values
    {%- for id_type, priority in var('identifier_priorities').items() %}
        ('{{ id_type }}', {{ priority }}){{ "," if not loop.last }}
    {%- endfor %}
    as priorities (identifier_type, priority)
{%- endmacro %}

{% macro survivorship_rules(traits) -%}
    {%- set rules = var('survivorship') -%}
    {%- set fallback = var('default_survivorship') -%}
    select * from values
    {%- for trait in traits %}
        {%- set rule = rules.get(trait, fallback) %}
        ('{{ trait }}', '{{ rule["rule"] }}', array(
            {%- for source in rule.get("sources", []) -%}
                '{{ source }}'{{ ", " if not loop.last }}
            {%- endfor -%}
        )){{ "," if not loop.last }}
    {%- endfor %}
    as rules (trait, rule, trusted_sources)
{%- endmacro %}

{% macro as_of_timestamp() -%}
    {#- The end of every "last N days" window: now, the newest event, or a fixed time. -#}
    {%- set as_of = var('as_of') -%}
    {%- if as_of == 'now' -%}
        current_timestamp()
    {%- elif as_of == 'latest' -%}
        (select max(occurred_at) from {{ ref('fct_events') }})
    {%- else -%}
        timestamp '{{ as_of }}'
    {%- endif -%}
{%- endmacro %}

{% macro consent_columns(purposes, channels) -%}
    {#- One column per purpose and channel, e.g. consent_marketing_email. -#}
    {%- for purpose in purposes %}
        {%- for channel in channels %}
    coalesce(
        max(case when purpose = '{{ purpose }}' and channel = '{{ channel }}' then status end),
        'unknown'
    ) as consent_{{ purpose }}_{{ channel }}{{ "," if not loop.last }}
        {%- endfor %}{{ "," if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{% macro quoted_list(values) -%}
    {%- for value in values -%}
        '{{ value }}'{{ ", " if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
