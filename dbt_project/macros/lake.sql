{#-
    Reading the validated lake.

    lake_source(kind) is what a staging model selects from. While at least one Parquet file of that
    kind exists it is the lake relation itself (source('lake', kind), which dbt-duckdb resolves to a
    read_parquet() over the table's lake_glob); before the first upload of a kind it is a zero-row
    select typed from the column declarations in models/staging/_sources.yml, so that every
    downstream model still builds (with zero rows). The columns are declared once, in that YAML.
-#}

{% macro lake_source(kind) -%}
    {%- set relation = source('lake', kind) -%}
    {%- if not execute or lake_has_files(kind) -%}
        {#- (at parse time only the dependency on the source matters) -#}
        {{ relation }}
    {%- else -%}
        ({{ lake_empty_select(kind) }}) as empty_{{ kind }}
    {%- endif -%}
{%- endmacro %}


{#- The parsed source node of one lake table (columns, meta). -#}
{% macro lake_source_node(kind) -%}
    {%- for node in graph.sources.values() -%}
        {%- if node.source_name == 'lake' and node.name == kind -%}
            {{ return(node) }}
        {%- endif -%}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error("no source lake." ~ kind ~ " is declared in models/staging/_sources.yml") }}
{%- endmacro %}


{#- A typed zero-row select with exactly the declared columns of a lake table. -#}
{% macro lake_empty_select(kind) -%}
    {%- set node = lake_source_node(kind) -%}
    select
    {%- for column in node.columns.values() %}
        cast(null as {{ column.data_type }}) as {{ column.name }}{{ "," if not loop.last }}
    {%- endfor %}
    where 1 = 0
{%- endmacro %}


{#- Whether any file of a lake table exists. Engine-specific, hence dispatched. -#}
{% macro lake_has_files(kind) -%}
    {{ return(adapter.dispatch('lake_has_files', 'alliance_registry')(kind)) }}
{%- endmacro %}

{% macro default__lake_has_files(kind) -%}
    {#- On a warehouse the lake tables are real tables (e.g. Iceberg): they always exist. -#}
    {{ return(true) }}
{%- endmacro %}

{% macro duckdb__lake_has_files(kind) -%}
    {%- set node = lake_source_node(kind) -%}
    {%- set lake_glob = node.config.meta.get('lake_glob') or node.meta.get('lake_glob') -%}
    {%- set result = run_query("select count(*) from glob('" ~ lake_glob | replace("'", "''") ~ "')") -%}
    {{ return(result.columns[0].values()[0] > 0) }}
{%- endmacro %}
