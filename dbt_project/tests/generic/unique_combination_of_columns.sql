{#- The listed columns together identify a row: no combination occurs twice.

    changed_episodes_by ([episode_key], or [client_key, episode] for rows not yet keyed): check only
    the episodes this build recomputed (int_episodes_changed). For a lake staging view, or a model
    rebuilt by episode (incremental_strategy='replace_episodes'), whose listed columns name the
    episode, that is the whole table's uniqueness, not a sample of it:
    - two rows that share the listed columns belong to one episode;
    - every row of an upload that arrived since the last build belongs to a changed episode, and
      the models replace every row of each changed episode;
    - the rows of every other episode passed this test in the build that last wrote them: a build
      whose test fails does not record its uploads as built (int_uploads_built), so the next build
      recomputes and re-checks the same episodes.
    A full build lists every episode as changed, so it checks every row. At regional scale this
    keeps each test on the 1.2 M session rows from re-reading them all when one month arrives. -#}
{% test unique_combination_of_columns(model, combination_of_columns, changed_episodes_by=none) %}

select
    {{ combination_of_columns | join(', ') }},
    count(*) as n_rows
from {{ model }}
{%- if changed_episodes_by %}
where ({{ changed_episodes_by | join(', ') }}) in (
    select {{ changed_episodes_by | join(', ') }} from {{ ref('int_episodes_changed') }}
)
{%- endif %}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1

{% endtest %}
