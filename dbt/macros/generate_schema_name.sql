{#- Schemas are the lakehouse layers (staging, silver, gold), not `<target>_<layer>`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
