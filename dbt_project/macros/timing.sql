{#-
    Follow-up windows in days since intake (SPEC section 5), defined once in dbt_project.yml vars. A
    follow-up outside its window is kept and flagged (plausibility, not rejection).
-#}
{% macro followup_windows() -%}
    {{ return(var('followup_windows')) }}
{%- endmacro %}

{#- Whether an assessment at `timepoint` falls in its window; the intake baseline (day 0) always does. -#}
{% macro in_followup_window(timepoint, days_since_intake) -%}
    case {{ timepoint }}
        when 'baseline' then {{ days_since_intake }} = 0
        {%- for tp, window in followup_windows().items() %}
        when '{{ tp }}' then {{ days_since_intake }} between {{ window[0] }} and {{ window[1] }}
        {%- endfor %}
    end
{%- endmacro %}

{#-
    Session order within an episode: by days_since_intake, then session_number. True when session
    (days_a, number_a) comes strictly before session (days_b, number_b).
-#}
{% macro session_before(days_a, number_a, days_b, number_b) -%}
    ({{ days_a }} < {{ days_b }} or ({{ days_a }} = {{ days_b }} and {{ number_a }} < {{ number_b }}))
{%- endmacro %}

{#- Nominal months of a timepoint (baseline 0, 1m 1, ... 24m 24), for ordering and plotting. -#}
{% macro timepoint_month(timepoint) -%}
    case {{ timepoint }}
        when 'baseline' then 0
        {%- for tp in followup_windows().keys() %}
        when '{{ tp }}' then {{ tp | replace('m', '') }}
        {%- endfor %}
    end
{%- endmacro %}


{#-
    Months after intake by which a timepoint's follow-up window has closed (SPEC section 6,
    eligibility): the window's last day rounded up to whole months of 365.25 / 12 days, so
    1m 2, 3m 5, 6m 9, 12m 18, 24m 36. Derived from the one definition of the windows.
-#}
{% macro window_closed_after_months(timepoint) -%}
    {%- set last_day = followup_windows()[timepoint][1] -%}
    {{ return((last_day / (365.25 / 12)) | round(0, 'ceil') | int) }}
{%- endmacro %}

{#-
    The follow-up timepoints as rows (timepoint, timepoint_month, closed_after_months): the spine
    that gives every site a row for every timepoint.
-#}
{% macro followup_timepoints() -%}
    {%- for tp in followup_windows().keys() %}
    select
        cast('{{ tp }}' as {{ dbt.type_string() }}) as timepoint,
        {{ tp | replace('m', '') }} as timepoint_month,
        {{ window_closed_after_months(tp) }} as closed_after_months
    {{ "union all" if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#-
    A YYYY-MM month label as a running month number (year x 12 + month), so that the difference of two
    labels is whole months, across year ends too.
-#}
{% macro month_number(month_label) -%}
    (cast(substr({{ month_label }}, 1, 4) as integer) * 12 + cast(substr({{ month_label }}, 6, 2) as integer))
{%- endmacro %}
