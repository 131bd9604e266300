{#-
    Outcome definitions at a follow-up timepoint compared with the intake baseline (SPEC section 5).
    Changes are follow-up minus baseline, so negative changes are improvements. The reliable change
    thresholds are 6 PHQ-9 points and 4 GAD-7 points.

    "Paired" = PHQ-9 and GAD-7 totals both present at baseline and at the timepoint. The reliable
    change and recovery flags need a pair and are null (never false) without one.
-#}

{% macro is_paired(baseline_phq9, phq9, baseline_gad7, gad7) -%}
    ({{ baseline_phq9 }} is not null and {{ phq9 }} is not null
     and {{ baseline_gad7 }} is not null and {{ gad7 }} is not null)
{%- endmacro %}

{#- PHQ-9 fell by >= 6 or GAD-7 fell by >= 4, and neither rose by that much. -#}
{% macro reliable_improvement(paired, phq9_change, gad7_change) -%}
    case when {{ paired }} then
        ({{ phq9_change }} <= -6 or {{ gad7_change }} <= -4)
        and not ({{ phq9_change }} >= 6 or {{ gad7_change }} >= 4)
    end
{%- endmacro %}

{#- PHQ-9 rose by >= 6 or GAD-7 rose by >= 4. -#}
{% macro reliable_deterioration(paired, phq9_change, gad7_change) -%}
    case when {{ paired }} then ({{ phq9_change }} >= 6 or {{ gad7_change }} >= 4) end
{%- endmacro %}

{#- A case at baseline and not at the timepoint; defined only for pairs whose baseline is a case. -#}
{% macro recovered(paired, baseline_caseness, caseness) -%}
    case when {{ paired }} and {{ baseline_caseness }} then not {{ caseness }} end
{%- endmacro %}

{#- Recovered and reliably improved; defined where recovered is. -#}
{% macro reliable_recovery(recovered, reliable_improvement) -%}
    case when {{ recovered }} is not null then {{ recovered }} and {{ reliable_improvement }} end
{%- endmacro %}

{#- PHQ-9 at most half of baseline; needs both PHQ-9 totals and a baseline above 0. -#}
{% macro response(baseline_phq9, phq9) -%}
    case when {{ baseline_phq9 }} > 0 and {{ phq9 }} is not null then 2 * {{ phq9 }} <= {{ baseline_phq9 }} end
{%- endmacro %}

{#- PHQ-9 below 5 at the timepoint; needs that PHQ-9 total. -#}
{% macro remission(phq9) -%}
    case when {{ phq9 }} is not null then {{ phq9 }} < 5 end
{%- endmacro %}
