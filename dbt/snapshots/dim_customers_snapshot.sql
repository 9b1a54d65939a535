{#- Check columns come from the configuration (traits, purposes, channels), so a purpose or
    channel added to lakecdp.yaml is recorded without editing this file. -#}
{% snapshot dim_customers_snapshot %}
    {{ config(unique_key='customer_id', strategy='check', check_cols=customer_history_columns()) }}
    select * from {{ ref('dim_customers') }}
{% endsnapshot %}
