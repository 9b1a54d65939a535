{#- Helpers of the staging models, so each rule is written once. bronze.<source> holds a file
    source's declared columns as text, the record time and market parsed at ingestion
    (_event_ts, _market) and where and when the row was ingested (_source_file, _ingested_at,
    _run_id): every row of every file, copies included. -#}

{% macro bronze_row_hash(source_name) -%}
    {#- A hash of the row's values: every declared column (var bronze_columns, from
        lakecdp.yaml) and the parsed time and market, not where or when the row was ingested,
        so the same values in two files hash the same. -#}
    {%- set declared = var('bronze_columns') -%}
    {%- if source_name not in declared -%}
        {{ exceptions.raise_compiler_error(
            "var bronze_columns names no source '" ~ source_name ~ "' (lakecdp.yaml sources)"
        ) }}
    {%- endif -%}
    md5(to_json(struct(
        {%- for column in declared[source_name] %}
        `{{ column }}`,
        {%- endfor %}
        _event_ts,
        _market
    )))
{%- endmacro %}

{% macro without_whole_row_copies(source_name, relation) -%}
    {#- The bronze rows of a file source with their row_hash, less whole-row copies: a re-run
        export repeats rows within one file, and one of them is kept (a copy is not another
        observation). The same values in another file stay: that is a re-send. -#}
    select * from (
        select
            *,
            row_number() over (
                partition by _source_file, row_hash
                order by _ingested_at desc
            ) as copy_number
        from (
            select
                *,
                {{ bronze_row_hash(source_name) }} as row_hash
            from {{ relation }}
        )
    )
    where copy_number = 1
{%- endmacro %}

{% macro is_latest_copy(record_id) -%}
    {#- True on the one copy of a re-sent record that counts (tills and marketplaces re-send
        orders): the latest ingested; of copies ingested by one run, the one from the later
        file, then the lower row hash, so that every build picks the same copy. -#}
    row_number() over (
        partition by {{ record_id }}
        order by _ingested_at desc, _source_file desc, row_hash asc
    ) = 1
{%- endmacro %}

{% macro clean_text(column) -%}
    {#- A text value without surrounding spaces; blank is null (a missing value). -#}
    nullif(trim({{ column }}), '')
{%- endmacro %}

{% macro clean_name(column) -%}
    {#- A name of a person or place, capitalized word by word ("kuala lumpur" -> "Kuala Lumpur"). -#}
    initcap({{ clean_text(column) }})
{%- endmacro %}
