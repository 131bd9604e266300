{#-
    Questionnaire scores (SPEC section 5). Each score is defined here once; models call the macros.
    Arguments are column names or SQL expressions; `prefix` names the item columns <prefix>_1 .. _n
    (it may carry a table alias, e.g. 'followups.phq9').
-#}


{#- ---------- building blocks ---------- -#}

{#- Number of answered (non-null) items among the listed item numbers. -#}
{% macro items_answered(prefix, item_numbers) -%}
    ({% for i in item_numbers %}(case when {{ prefix }}_{{ i }} is not null then 1 else 0 end){{ " + " if not loop.last }}{% endfor %})
{%- endmacro %}

{#- Sum of the answered items (missing items count as 0; use only with a completeness guard). -#}
{% macro items_sum(prefix, item_numbers) -%}
    ({% for i in item_numbers %}coalesce({{ prefix }}_{{ i }}, 0){{ " + " if not loop.last }}{% endfor %})
{%- endmacro %}

{#- Sum of the listed items when every one is answered, otherwise null. -#}
{% macro complete_items_sum(prefix, item_numbers) -%}
    case when {{ items_answered(prefix, item_numbers) }} = {{ item_numbers | length }}
        then {{ items_sum(prefix, item_numbers) }}
    end
{%- endmacro %}

{#-
    Total of an n-item scale with one-missing-item proration: the plain sum when all n items are
    answered; floor(mean of the answered items * n + 0.5) when exactly one is missing; null otherwise.
    The proration is computed as floor((2 * sum * n + m) / (2 * m)) with m = n - 1 answered items, which
    is the same number without binary floating-point rounding at the .5 boundary.
-#}
{% macro prorated_total(prefix, n_items) -%}
    {%- set item_numbers = range(1, n_items + 1) | list -%}
    case
        when {{ items_answered(prefix, item_numbers) }} = {{ n_items }}
            then {{ items_sum(prefix, item_numbers) }}
        when {{ items_answered(prefix, item_numbers) }} = {{ n_items - 1 }}
            then cast(floor((2.0 * {{ n_items }} * {{ items_sum(prefix, item_numbers) }} + {{ n_items - 1 }}) / {{ 2 * (n_items - 1) }}) as integer)
    end
{%- endmacro %}

{#- True when the total was prorated (one item missing), false when all items were answered, null when the total is missing. -#}
{% macro prorated_flag(prefix, n_items) -%}
    {%- set item_numbers = range(1, n_items + 1) | list -%}
    case {{ items_answered(prefix, item_numbers) }}
        when {{ n_items }} then false
        when {{ n_items - 1 }} then true
    end
{%- endmacro %}


{#- ---------- PHQ-9 (depression, 0-27) ---------- -#}

{% macro phq9_total(prefix='phq9') -%}
    {{ prorated_total(prefix, 9) }}
{%- endmacro %}

{% macro phq9_prorated(prefix='phq9') -%}
    {{ prorated_flag(prefix, 9) }}
{%- endmacro %}

{#- Severity bands: 0-4 minimal, 5-9 mild, 10-14 moderate, 15-19 moderately severe, 20-27 severe. -#}
{% macro phq9_band(total) -%}
    case
        when {{ total }} is null then null
        when {{ total }} <= 4 then 'minimal'
        when {{ total }} <= 9 then 'mild'
        when {{ total }} <= 14 then 'moderate'
        when {{ total }} <= 19 then 'moderately severe'
        else 'severe'
    end
{%- endmacro %}


{#- ---------- GAD-7 (anxiety, 0-21) ---------- -#}

{% macro gad7_total(prefix='gad7') -%}
    {{ prorated_total(prefix, 7) }}
{%- endmacro %}

{% macro gad7_prorated(prefix='gad7') -%}
    {{ prorated_flag(prefix, 7) }}
{%- endmacro %}

{#- Severity bands: 0-4 minimal, 5-9 mild, 10-14 moderate, 15-21 severe. -#}
{% macro gad7_band(total) -%}
    case
        when {{ total }} is null then null
        when {{ total }} <= 4 then 'minimal'
        when {{ total }} <= 9 then 'mild'
        when {{ total }} <= 14 then 'moderate'
        else 'severe'
    end
{%- endmacro %}


{#- ---------- WHO-5 (well-being) ---------- -#}

{#- Raw score 0-25: sum of the five items, all five required. -#}
{% macro who5_raw(prefix='who5') -%}
    {{ complete_items_sum(prefix, range(1, 6) | list) }}
{%- endmacro %}

{#- Percentage score 0-100 = raw x 4. -#}
{% macro who5_pct(raw) -%}
    ({{ raw }}) * 4
{%- endmacro %}

{#- Poor well-being: raw score below 13 (null when the raw score is missing). -#}
{% macro who5_poor(raw) -%}
    ({{ raw }}) < 13
{%- endmacro %}


{#- ---------- caseness ---------- -#}

{#-
    A clinical case: PHQ-9 >= 10 or GAD-7 >= 8. SQL three-valued logic: true as soon as one score
    qualifies, false when both are known and neither does, null only when it cannot be decided.
-#}
{% macro caseness(phq9_total, gad7_total) -%}
    ({{ phq9_total }} >= 10 or {{ gad7_total }} >= 8)
{%- endmacro %}


{#- ---------- WAI-SR (working alliance, items 1-5, none reverse-scored) ---------- -#}

{% macro wai_subscale_items() -%}
    {{ return({
        'total': range(1, 13) | list,
        'task': [1, 2, 10, 12],
        'bond': [3, 5, 7, 9],
        'goal': [4, 6, 8, 11],
    }) }}
{%- endmacro %}

{#- Total 12-60 (all 12 items required), or a subscale 4-20 (its four items required). -#}
{% macro wai_score(scale='total', prefix='wai') -%}
    {{ complete_items_sum(prefix, wai_subscale_items()[scale]) }}
{%- endmacro %}


{#- ---------- session experience ---------- -#}

{#-
    Complete mystical experience in a medicine session: all four MEQ-30 subscale means >= 3.0
    (60 % of the maximum 5). Null for non-medicine sessions; three-valued logic otherwise (false as
    soon as one subscale is below 3, null when undecidable because subscales are missing).
-#}
{% macro complete_mystical(session_type='session_type') -%}
    case when {{ session_type }} = 'medicine' then (
        meq_mystical >= 3.0
        and meq_positive_mood >= 3.0
        and meq_transcendence >= 3.0
        and meq_ineffability >= 3.0
    ) end
{%- endmacro %}

{#- Emotional Breakthrough Inventory score 0-100: mean of the answered items when >= 5 of 6 are answered. -#}
{% macro ebi_score(prefix='ebi') -%}
    {%- set item_numbers = range(1, 7) | list -%}
    case when {{ items_answered(prefix, item_numbers) }} >= 5
        then cast({{ items_sum(prefix, item_numbers) }} as double) / {{ items_answered(prefix, item_numbers) }}
    end
{%- endmacro %}


{#- ---------- column lists ---------- -#}

{#- 'phq9_1, phq9_2, ..., phq9_9': the item columns of a scale, for selects that carry items along. -#}
{% macro item_columns(prefix, n_items) -%}
    {%- for i in range(1, n_items + 1) -%}{{ prefix }}_{{ i }}{{ ", " if not loop.last }}{%- endfor -%}
{%- endmacro %}
