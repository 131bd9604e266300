-- One row per episode whose rows changed since the last build: every episode carried by an upload
-- that arrived in the lake since then or left it (a resubmission replaces a site-month's upload, so
-- its rows may disappear), and every episode of a client whose withdrawal arrived or left. The
-- episode-scoped incremental models recompute exactly these episodes (macros/incremental.sql).
-- Upload hashes, not run arguments, say what changed: a build that failed or never ran is caught up
-- by the next one, whichever job starts it.

with

lake as (

    {{ lake_episode_uploads() }}

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

touched as (

    select lake.client_key, lake.episode
    from lake
    inner join arrived
        on lake.kind = arrived.kind
        and lake.site_id = arrived.site_id
        and lake.upload_month = arrived.upload_month
        and lake.upload_sha256 = arrived.upload_sha256

    union

    select built.client_key, built.episode
    from built
    inner join departed
        on built.kind = departed.kind
        and built.site_id = departed.site_id
        and built.upload_month = departed.upload_month
        and built.upload_sha256 = departed.upload_sha256

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
