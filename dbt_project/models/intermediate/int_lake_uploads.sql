-- One row per upload in the lake and episode it carries, as the lake holds them now: the one read of
-- the whole lake a build needs for its bookkeeping. What changed (int_episodes_changed), the record
-- the next build compares with (int_uploads_built), the data month (int_episodes_dated) and each
-- site's first and last upload month (dim_sites) read it rather than the lake's 1.5 M rows
-- (regional scale) three more times.

{{ lake_episode_uploads() }}
