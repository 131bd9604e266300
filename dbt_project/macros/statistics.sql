{#-
    z-score of `expression` within groups: (x - group mean) / group sample standard deviation.
    Rows where x is null do not enter the mean or SD and get null; null as well when the SD is not
    computable (fewer than two values) or zero.
-#}
{% macro z_score(expression, partition_by) -%}
    ({{ expression }} - avg({{ expression }}) over (partition by {{ partition_by }}))
        / nullif(stddev_samp({{ expression }}) over (partition by {{ partition_by }}), 0)
{%- endmacro %}
