-- Up Migration
-- Each score is written once in the hot path (issue 14). A run's chunks COPY into a table of the run's
-- own, a partition of scoring.staged_scores; publishing detaches it and attaches the very same table to
-- scoring.lead_score_history, where its two indexes are built in one sorted pass. Before, every score
-- was written to staging, then inserted again into history (both row by row through their indexes),
-- and staging was deleted. Readers of history see a run's partition only once it is published.

-- The name of a run's table, in schema scoring: readable, and unique through the hash of the run id.
create function scoring.run_table_name(run_id text) returns text
  language sql immutable strict
  return 'run_' || left(regexp_replace(lower(run_id), '[^a-z0-9]+', '_', 'g'), 45) || '_' || left(md5(run_id), 8);

-- Staging, partitioned by run. It carries the model columns history needs, so a run's table can move
-- into history as it is. Rows of a run without a table of its own (staged before this migration, or
-- written by hand) land in the default partition and are published by copying, as before.
alter table scoring.staged_scores rename to staged_scores_before_013;
create table scoring.staged_scores (
  run_id            text not null,
  lead_id           bigint not null,
  chunk             integer not null,
  score             double precision not null,
  bucket            text not null,
  model_version     text,
  model_sha256      text,
  source_updated_at timestamptz,
  scored_at         timestamptz not null
) partition by list (run_id);
create table scoring.staged_scores_default partition of scoring.staged_scores default;
insert into scoring.staged_scores
  select s.run_id, s.lead_id, s.chunk, s.score, s.bucket, r.model_version, r.model_sha256, s.source_updated_at, s.scored_at
  from scoring.staged_scores_before_013 s left join scoring.pipeline_runs r using (run_id);
drop table scoring.staged_scores_before_013;

-- History, partitioned by run: one partition per published run, each with its own indexes. `chunk`
-- says which chunk of the run scored the lead (null for runs published before this migration).
alter table scoring.lead_score_history rename to lead_score_history_before_013;
alter index scoring.lead_score_history_pkey rename to lead_score_history_before_013_pkey;
alter index scoring.lead_score_history_lead rename to lead_score_history_before_013_lead;
create table scoring.lead_score_history (
  run_id            text not null,
  lead_id           bigint not null,
  chunk             integer,
  score             double precision not null,
  bucket            text not null,
  model_version     text not null,
  model_sha256      text not null,
  source_updated_at timestamptz,
  scored_at         timestamptz not null,
  primary key (run_id, lead_id)
) partition by list (run_id);
create index lead_score_history_lead on scoring.lead_score_history (lead_id, scored_at desc);
do $$
declare r text;
begin
  for r in select distinct run_id from scoring.lead_score_history_before_013 loop
    execute format('create table scoring.%I partition of scoring.lead_score_history for values in (%L)', scoring.run_table_name(r), r);
  end loop;
end $$;
insert into scoring.lead_score_history (run_id, lead_id, score, bucket, model_version, model_sha256, source_updated_at, scored_at)
  select run_id, lead_id, score, bucket, model_version, model_sha256, source_updated_at, scored_at from scoring.lead_score_history_before_013;
drop table scoring.lead_score_history_before_013;

-- Down Migration
alter table scoring.lead_score_history rename to lead_score_history_partitioned;
alter index scoring.lead_score_history_pkey rename to lead_score_history_partitioned_pkey;
alter index scoring.lead_score_history_lead rename to lead_score_history_partitioned_lead;
create table scoring.lead_score_history (
  run_id            text not null,
  lead_id           bigint not null,
  score             double precision not null,
  bucket            text not null,
  model_version     text not null,
  model_sha256      text not null,
  source_updated_at timestamptz,
  scored_at         timestamptz not null,
  primary key (run_id, lead_id)
);
create index lead_score_history_lead on scoring.lead_score_history (lead_id, scored_at desc);
insert into scoring.lead_score_history
  select run_id, lead_id, score, bucket, model_version, model_sha256, source_updated_at, scored_at from scoring.lead_score_history_partitioned;
drop table scoring.lead_score_history_partitioned cascade;

alter table scoring.staged_scores rename to staged_scores_partitioned;
create table scoring.staged_scores (
  run_id            text not null,
  lead_id           bigint not null,
  chunk             integer not null,
  score             double precision not null,
  bucket            text not null,
  source_updated_at timestamptz,
  scored_at         timestamptz not null,
  primary key (run_id, lead_id)
);
insert into scoring.staged_scores
  select run_id, lead_id, chunk, score, bucket, source_updated_at, scored_at from scoring.staged_scores_partitioned;
drop table scoring.staged_scores_partitioned cascade;
drop function scoring.run_table_name(text);
