{#-
    Typing helpers for staging models.

    cast_items('phq9', 9) renders the nine item columns phq9_1 .. phq9_9 cast to integer, one per
    line, comma separated (no trailing comma). Questionnaire items occur in more than one upload kind.
-#}
{% macro cast_items(prefix, n_items, data_type='integer') -%}
    {%- for i in range(1, n_items + 1) %}
        cast({{ prefix }}_{{ i }} as {{ data_type }}) as {{ prefix }}_{{ i }}{{ "," if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
