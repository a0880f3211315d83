-- Up Migration
-- A run's snapshot is one row per chunk holding its lead ids, in key order, as an array (issue 14, measured
-- at 1,000,000 leads on a loaded machine): extract wrote one heap tuple and one index entry per lead,
-- 2,000,000 WAL records and 140 MB of WAL, and took 2.7 to 3.3 s of one backend; writing 20 arrays takes
-- 0.26 s and 8.5 MB of WAL. Reading a chunk unnests its array and probes the source's key index, instead
-- of hashing the snapshot's rows against a scan of the whole source table for every chunk.
-- The arrays are stored uncompressed (storage external): compressing them cost more than writing them,
-- and a chunk is read whole. The primary key (run_id, chunk) makes a second snapshot of a run fail
-- instead of doubling it.
alter table scoring.run_leads rename to run_leads_before_015;
alter index scoring.run_leads_chunk rename to run_leads_before_015_chunk;
create table scoring.run_leads (
  run_id   text not null,
  chunk    integer not null,
  lead_ids bigint[] not null,
  primary key (run_id, chunk)
);
alter table scoring.run_leads alter column lead_ids set storage external;
insert into scoring.run_leads (run_id, chunk, lead_ids)
  select run_id, chunk, array_agg(lead_id order by lead_id) from scoring.run_leads_before_015 group by run_id, chunk;
drop table scoring.run_leads_before_015;

-- Down Migration
alter table scoring.run_leads rename to run_leads_per_chunk;
alter index scoring.run_leads_pkey rename to run_leads_per_chunk_pkey;
create table scoring.run_leads (
  run_id  text not null,
  lead_id bigint not null,
  chunk   integer not null
);
create index run_leads_chunk on scoring.run_leads (run_id, chunk);
insert into scoring.run_leads (run_id, lead_id, chunk)
  select c.run_id, l.lead_id, c.chunk from scoring.run_leads_per_chunk c cross join unnest(c.lead_ids) as l(lead_id);
drop table scoring.run_leads_per_chunk;
