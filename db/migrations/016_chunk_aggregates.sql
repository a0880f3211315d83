-- Up Migration
-- Each chunk of a probability-buckets run records, as it is staged, its rows per bucket and the newest
-- source change time it scored (issue 14). The quality gate summed the buckets, and publishing took the
-- watermark, by scanning all of the run's staged rows: two passes over a million rows on the way to
-- every full run's publication. Null for chunks staged before this migration and for top-k chunks: those
-- runs keep the scans.
alter table scoring.run_chunks
  add column bins jsonb,
  add column high_water timestamptz;

-- Down Migration
alter table scoring.run_chunks
  drop column bins,
  drop column high_water;
