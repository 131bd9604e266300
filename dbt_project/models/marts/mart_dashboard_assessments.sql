-- One row per timepoint (baseline and follow-ups) and medicine, and per timepoint for all medicines
-- together (medicine 'all'): the assessment counts and the score means and SDs the dashboards show.
-- The all-medicines row is aggregated from the assessments, not pooled from the medicine rows.

{%- set scales = ['phq9_total', 'gad7_total', 'who5_pct'] %}

with

assessments as (

    select
        assessments.timepoint,
        episodes.medicine,
        assessments.in_window,
        assessments.phq9_prorated,
        assessments.phq9_item9_positive,
        {%- for scale in scales %}
        assessments.{{ scale }}{{ "," if not loop.last }}
        {%- endfor %}
    from {{ ref('fct_assessments') }} as assessments
    inner join {{ ref('dim_episodes') }} as episodes
        on assessments.episode_key = episodes.episode_key

),

{%- for grouping in ['medicine', 'all'] %}

by_{{ grouping }} as (

    select
        timepoint,
        {{ "medicine" if grouping == "medicine" else "cast('all' as " ~ dbt.type_string() ~ ")" }} as medicine,
        cast(count(*) as integer) as assessments,
        cast({{ count_true('in_window = false') }} as integer) as out_of_window,
        cast({{ count_true('phq9_prorated') }} as integer) as phq9_prorated,
        cast(count(phq9_item9_positive) as integer) as item9_answered,
        cast({{ count_true('phq9_item9_positive') }} as integer) as item9_positive,
        {%- for scale in scales %}
        cast(count({{ scale }}) as integer) as n_{{ scale }},
        cast(avg({{ scale }}) as double) as mean_{{ scale }},
        cast(stddev_samp({{ scale }}) as double) as sd_{{ scale }}{{ "," if not loop.last }}
        {%- endfor %}
    from assessments
    group by timepoint{{ ", medicine" if grouping == "medicine" }}

){{ "," if not loop.last }}

{%- endfor %}

select * from by_medicine
union all
select * from by_all
