{#- The listed columns are filled in every row. One test per model instead of one not_null test per
    column: each dbt test is a dbt node and a Dagster asset check with events of its own, which cost
    far more than the query. Fails with one row per column that holds nulls (its name, how many rows
    are null, of how many), so the failure says which column and how badly. One scan of the model:
    count(*) - count(col) per column, then one row per column picked from that single row (plain SQL,
    no engine's UNPIVOT). -#}
{% test not_null_columns(model, columns) %}
{%- if not columns -%}
    {{ exceptions.raise_compiler_error('not_null_columns needs at least one column') }}
{%- endif %}
{{ config(meta={'description': 'Required columns, never null: ' ~ columns | join(', ') ~ '.'}) }}

with null_counts as (

    select
        count(*) as n_rows
        {%- for column in columns %},
        count(*) - count({{ column }}) as null_rows_{{ loop.index }}
        {%- endfor %}
    from {{ model }}

),

checked_columns as (

    {%- for column in columns %}
    select {{ loop.index }} as position, '{{ column }}' as column_name
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

per_column as (

    select
        checked_columns.column_name,
        case checked_columns.position
            {%- for column in columns %}
            when {{ loop.index }} then null_counts.null_rows_{{ loop.index }}
            {%- endfor %}
        end as null_rows,
        null_counts.n_rows
    from checked_columns
    cross join null_counts

)

select column_name, null_rows, n_rows
from per_column
where null_rows > 0

{% endtest %}
