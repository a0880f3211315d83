-- Up Migration
-- What every run paid for and no reader needed (issue 14, measured at 1,000,000 leads):
-- * run_leads' primary key (run_id, chunk, lead_id) wrote a unique 40-byte btree entry per lead. Its readers
--   ask for one run's chunk or a whole run, never for uniqueness (extract writes a run's snapshot in one
--   statement, duplicate keys rejected before it). A plain (run_id, chunk) index, whose entries PostgreSQL
--   deduplicates into posting lists, serves them: the snapshot insert went from about 3.5 s to 1.7 s.
-- * A run's gate compared it with the last published run by counting that run's history rows per bucket:
--   0.8 s on every incremental morning after a 1M-lead run. The gate now stores the run's own aggregates
--   with its report, and the next run reads its baseline's from there.
alter table scoring.run_leads drop constraint run_leads_pkey;
create index run_leads_chunk on scoring.run_leads (run_id, chunk);
alter table scoring.run_gate_reports add column run_metrics jsonb;

-- Down Migration
alter table scoring.run_gate_reports drop column run_metrics;
drop index scoring.run_leads_chunk;
alter table scoring.run_leads add primary key (run_id, chunk, lead_id);
