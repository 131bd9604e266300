{#-
    episode_key: the registry's key of a treatment episode, md5 of client_key || '|' || episode
    (32 hex characters). client_key is already a keyed pseudonym, so the episode key reveals nothing.
-#}
{% macro episode_key(client_key='client_key', episode='episode') -%}
    {{ dbt.hash(dbt.concat([client_key, "'|'", "cast(" ~ episode ~ " as " ~ dbt.type_string() ~ ")"])) }}
{%- endmacro %}


{#-
    Corrections across months (SPEC section 4): of all uploaded versions of a row (same key), the one
    from the latest upload month wins. Within one month a key occurs once (one file per site, month
    and kind; the upload guard rejects conflicting duplicates), so the latest version is unique.
    Renders a select of the winning rows of `relation` (a CTE name or relation), all its columns.
-#}
{% macro latest_version_per_key(relation, key_columns, version_column='upload_month') -%}
    select versions.*
    from {{ relation }} as versions
    inner join (
        select
            {%- for column in key_columns %}
            {{ column }},
            {%- endfor %}
            max({{ version_column }}) as latest_version
        from {{ relation }}
        group by {{ key_columns | join(', ') }}
    ) as latest
        on
        {%- for column in key_columns %}
        versions.{{ column }} = latest.{{ column }} and
        {%- endfor %}
        versions.{{ version_column }} = latest.latest_version
{%- endmacro %}


{#-
    The corrected rows of a kind that hangs off an episode (alliance ratings, follow-ups): withdrawn
    clients left out, the latest upload month's version of each key, the episode key, and an orphan
    flag while the episode has no intake (orphans stay out of the marts until the intake arrives).
-#}
{% macro corrected_episode_rows(staging_model, key_columns) -%}
with

uploaded as (

    {{ without_withdrawn_clients(ref(staging_model)) }}
    and {{ in_changed_episodes(client_key='client_key', episode='episode') }}

),

episodes as (

    select episode_key from {{ ref('int_intakes_corrected') }}

),

latest as (

    {{ latest_version_per_key('uploaded', key_columns) }}

),

keyed as (

    select
        {{ episode_key('latest.client_key', 'latest.episode') }} as episode_key,
        latest.*
    from latest

),

flagged as (

    select
        keyed.*,
        episodes.episode_key is null as is_orphan
    from keyed
    left join episodes
        on keyed.episode_key = episodes.episode_key

)

select * from flagged
{%- endmacro %}
