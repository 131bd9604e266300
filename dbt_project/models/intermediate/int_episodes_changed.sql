-- One row per episode whose rows changed since the last build: every episode carried by an upload
-- that arrived in the lake since then or left it (a resubmission replaces a site-month's upload, so
-- its rows may disappear), and every episode of a client whose withdrawal arrived or left. The
-- episode-scoped incremental models recompute exactly these episodes (macros/incremental.sql).
-- Upload hashes, not run arguments, say what changed: a build that failed or never ran is caught up
-- by the next one, whichever job starts it.

with

lake as (

    select * from {{ ref('int_lake_uploads') }}

),

built as (

    {{ previous_uploads_built() }}

),

lake_uploads as (

    select distinct kind, site_id, upload_month, upload_sha256 from lake

),

built_uploads as (

    select distinct kind, site_id, upload_month, upload_sha256 from built

),

arrived as (

    select * from lake_uploads
    except
    select * from built_uploads

),

departed as (

    select * from built_uploads
    except
    select * from lake_uploads

),

-- the episodes of the uploads that arrived (as the lake holds them now) and of those that departed
-- (as the last build recorded them)
touched as (
    {%- for rows, uploads in [('lake', 'arrived'), ('built', 'departed')] %}

    select {{ rows }}.client_key, {{ rows }}.episode
    from {{ rows }}
    inner join {{ uploads }}
        on {{ same_upload(rows, uploads) }}
    {{ "\n    union" if not loop.last }}
    {%- endfor %}

),

-- a withdrawal (episode null) touches every episode of its client, built before or arriving now
withdrawing as (

    select distinct client_key from touched where episode is null

),

episodes as (

    select client_key, episode from touched
    where episode is not null

    union

    select client_key, episode from built
    where episode is not null and client_key in (select client_key from withdrawing)

    union

    select client_key, episode from lake
    where episode is not null and client_key in (select client_key from withdrawing)

),

keyed as (

    select
        {{ episode_key('client_key', 'episode') }} as episode_key,
        client_key,
        episode
    from episodes

)

select * from keyed
