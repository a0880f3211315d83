-- Up Migration
-- The newest source change time (updated_at) that a published run of the watermark's model scored or rejected
-- (issue 14). A morning's candidate changed after it cannot have been handled yet, so it skips the already-handled
-- probes into the current table: each probe costs an index lookup and, on a page yesterday's run rewrote, pruning
-- and a full-page image after a checkpoint (10,000 such probes at 1M leads, psql: 97 ms, 42 ms on pruned pages).
-- Null: not known (a new model, a rollback, this migration); the next morning learns it in one pass over the
-- current table, and every publish of the same model keeps it.
alter table scoring.watermarks add column newest_handled timestamptz;
comment on column scoring.watermarks.newest_handled is
  'Newest source updated_at that a published run of model_sha256 scored or rejected (not clamped to the snapshot, unlike source_high_water); null while not known.';

-- Down Migration
alter table scoring.watermarks drop column newest_handled;
