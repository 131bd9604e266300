{#-
    Incremental builds by episode (issue 8).

    An episode's rows span upload months and kinds (its intake, its sessions, its follow-ups), and
    corrections resolve per key across months, so the unit of recomputation is the episode: every
    episode that int_episodes_changed lists is recomputed whole, from every version of its rows in
    the lake, and replaces whatever the table held for it (rows may disappear: a resubmission
    replaces a site-month entirely, a withdrawal purges a client). Episodes not listed are left as
    they are. Without a previous build, or with --full-refresh, the models build everything.
-#}


{#-
    The filter of an episode-scoped incremental model: `true` on a full build, otherwise only the
    changed episodes. `episode_key` is the episode key column (or expression) of the rows filtered;
    with `client_key` and `episode` given instead (rows not yet keyed, as in staging) those two
    columns are matched. The ref is taken on every build so that dbt orders the model after
    int_episodes_changed.
-#}
{% macro in_changed_episodes(episode_key=none, client_key=none, episode=none) -%}
    {%- set changed = ref('int_episodes_changed') -%}
    {%- if not is_incremental() -%}
        true
    {%- elif episode_key is not none -%}
        {{ episode_key }} in (select episode_key from {{ changed }})
    {%- else -%}
        ({{ client_key }}, {{ episode }}) in (select client_key, episode from {{ changed }})
    {%- endif -%}
{%- endmacro %}


{#-
    The custom incremental strategy `replace_episodes` (dbt calls get_incremental_<name>_sql): delete
    every row of the changed episodes, then insert the recomputed rows. dbt's delete+insert would
    only delete the keys present in the new rows, so an episode whose rows all vanished would stay.
-#}
{% macro get_incremental_replace_episodes_sql(arg_dict) -%}
    {{ return(adapter.dispatch('replace_episodes_sql', 'alliance_registry')(arg_dict)) }}
{%- endmacro %}

{% macro default__replace_episodes_sql(arg_dict) -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }}
    where episode_key in (select episode_key from {{ ref('int_episodes_changed') }});

    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}


{#-
    The strategy `replace_uploads` of int_uploads_built: delete the uploads no longer in the lake,
    then add the new rows (the uploads that arrived). The record then equals int_lake_uploads.
-#}
{% macro get_incremental_replace_uploads_sql(arg_dict) -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }} as built
    where not exists (
        select 1 from {{ ref('int_lake_uploads') }} as lake
        where {{ same_upload('built', 'lake') }}
    );

    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}


{#- An upload is its kind, site, month and file hash. -#}
{% macro same_upload(left, right) -%}
    {%- for column in ['kind', 'site_id', 'upload_month', 'upload_sha256'] -%}
    {{ left }}.{{ column }} = {{ right }}.{{ column }}{{ ' and ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}


{#-
    The previous build's record of which episodes each upload carried (int_uploads_built), read
    without a ref: it is rebuilt at the end of this build, after everything that reads it. On the
    first build it does not exist yet and this is a typed zero-row select.
-#}
{% macro previous_uploads_built() -%}
    {%- set built = adapter.get_relation(database=target.database, schema=generate_schema_name('intermediate', none),
                                         identifier='int_uploads_built') if execute else none -%}
    {%- if built is not none and not flags.FULL_REFRESH -%}
        select kind, site_id, upload_month, upload_sha256, client_key, episode from {{ built }}
    {%- else -%}
        select
            cast(null as {{ dbt.type_string() }}) as kind,
            cast(null as {{ dbt.type_string() }}) as site_id,
            cast(null as {{ dbt.type_string() }}) as upload_month,
            cast(null as {{ dbt.type_string() }}) as upload_sha256,
            cast(null as {{ dbt.type_string() }}) as client_key,
            cast(null as integer) as episode
        where 1 = 0
    {%- endif -%}
{%- endmacro %}


{#-
    Which episodes each upload in the lake carries: one row per kind, site, upload month, upload
    (its file hash) and episode. A withdrawal carries a client, not an episode (episode null).
-#}
{% macro lake_episode_uploads() -%}
    {%- for kind in ['intake', 'alliance', 'followup'] %}
    select distinct
        cast('{{ kind }}' as {{ dbt.type_string() }}) as kind,
        site_id, upload_month, upload_sha256, client_key, episode
    from {{ ref('stg_' ~ kind) }}
    union all
    {%- endfor %}
    select distinct
        cast('withdrawals' as {{ dbt.type_string() }}) as kind,
        site_id, withdrawn_month as upload_month, upload_sha256, client_key, cast(null as integer) as episode
    from {{ ref('stg_withdrawals') }}
{%- endmacro %}
