-- Up Migration
-- When each run's snapshot statement started. The watermark never passes it, so one source row dated
-- in the future (a writer's clock skew, a 9999-12-31 sentinel) can no longer hide every later change.
alter table scoring.pipeline_runs add column snapshot_at timestamptz;
-- A watermark that already passed the moment it was written came from such a row: bring it back to that moment.
update scoring.watermarks set source_high_water = updated_at where source_high_water > updated_at;

-- Down Migration
alter table scoring.pipeline_runs drop column snapshot_at;
