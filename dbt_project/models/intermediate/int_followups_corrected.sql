-- One row per follow-up assessment: the latest uploaded version of each follow-up row, flagged as an
-- orphan while its episode has no intake.

{{ corrected_episode_rows('stg_followup', ['site_id', 'client_key', 'episode', 'timepoint']) }}
