-- Up Migration
-- Indexes and checks that every run paid for per row but that nothing needed (measured with bench/ at
-- 1,000,000 leads):
-- * run_leads is written once per run and read back only by chunk. Its foreign key to pipeline_runs
--   cost 3.6 s of a 9 s extract and its second index another second. Extract writes the snapshot in
--   the same transaction as its run row and resetRun deletes it by run id, so the key guarded nothing.
-- * lead_scores_bucket indexed four values over every lead: a bucket holds about a quarter of the
--   leads, so PostgreSQL scans the table for it anyway, while each publish updated the index per lead.
alter table scoring.run_leads drop constraint run_leads_run_id_fkey;
drop index scoring.run_leads_chunk;
alter table scoring.run_leads drop constraint run_leads_pkey, add primary key (run_id, chunk, lead_id);
drop index scoring.lead_scores_bucket;

-- Down Migration
create index lead_scores_bucket on scoring.lead_scores (bucket);
alter table scoring.run_leads drop constraint run_leads_pkey, add primary key (run_id, lead_id);
create index run_leads_chunk on scoring.run_leads (run_id, chunk);
alter table scoring.run_leads add constraint run_leads_run_id_fkey foreign key (run_id) references scoring.pipeline_runs on delete cascade;
