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
