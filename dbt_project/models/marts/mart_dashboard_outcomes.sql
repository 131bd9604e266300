-- One row per follow-up timepoint and medicine: episodes assessed, those with paired scores, and for
-- each outcome flag the paired episodes where it is known and where it is true (the dashboards'
-- outcome rates, each with its completeness).

{%- set flags = ['response', 'remission', 'reliable_improvement', 'recovered'] %}

with

outcomes as (

    select * from {{ ref('fct_episode_outcomes') }}

)

select
    timepoint,
    medicine,
    cast(count(*) as integer) as assessed,
    cast({{ count_true('paired') }} as integer) as paired,
    {%- for flag in flags %}
    cast({{ count_true('paired and ' ~ flag ~ ' is not null') }} as integer) as {{ flag }}_n,
    cast({{ count_true('paired and ' ~ flag) }} as integer) as {{ flag }}_yes{{ "," if not loop.last }}
    {%- endfor %}
from outcomes
group by timepoint, medicine
