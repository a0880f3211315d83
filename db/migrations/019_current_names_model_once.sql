-- Up Migration
-- The current-score table names a run's model once, in the run's audit row, as history does since 017 (issue 14).
-- Each current row repeated model_name, model_version and the 64-character model_sha256: about 90 of its 200
-- bytes, written again for every lead by each run's MERGE; at 10M leads the table and its key no longer fit in
-- shared buffers next to the run's table, and the MERGE waited on file extension and WAL writes. Every score of
-- a run is made with the model the run pinned (see 017), so scoring.pipeline_runs already names it.
-- The rows live in scoring.lead_scores_rows (same key, fillfactor 90; writes and deletes go there, written
-- afresh and compact here); scoring.lead_scores becomes a view with the same columns, the model joined from
-- the run's audit row. A rollback wrote an empty model_name where the run had none: the view shows the run's.

-- A run's audit row names the model its current rows name; a run whose rows say otherwise stops the migration.
update scoring.pipeline_runs r
set model_name = coalesce(r.model_name, c.model_name), model_version = coalesce(r.model_version, c.model_version),
    model_sha256 = coalesce(r.model_sha256, c.model_sha256)
from (select run_id, min(nullif(model_name, '')) as model_name, min(model_version) as model_version, min(model_sha256) as model_sha256
      from scoring.lead_scores group by run_id) c
where r.run_id = c.run_id and (r.model_name is null or r.model_version is null or r.model_sha256 is null);
do $$
declare runs text;
begin
  select string_agg(run_id, ', ' order by run_id) into runs from (
    select distinct c.run_id from scoring.lead_scores c left join scoring.pipeline_runs r using (run_id)
    where r.run_id is null or (c.model_name <> '' and c.model_name is distinct from r.model_name)
       or c.model_version is distinct from r.model_version or c.model_sha256 is distinct from r.model_sha256
  ) differ;
  if runs is not null then
    raise exception 'current scores (scoring.lead_scores) of runs % name another model than their run in scoring.pipeline_runs (or the run has no row there)', runs
      using hint = 'correct scoring.pipeline_runs.model_name, model_version and model_sha256 of those runs, or rescore those leads (scoreflow run --full), then migrate again';
  end if;
end $$;

create table scoring.lead_scores_rows (
  lead_id           bigint not null,
  score             double precision not null,
  bucket            text not null,
  run_id            text not null,
  source_updated_at timestamptz,
  scored_at         timestamptz not null
) with (fillfactor = 90);
insert into scoring.lead_scores_rows (lead_id, score, bucket, run_id, source_updated_at, scored_at)
  select lead_id, score, bucket, run_id, source_updated_at, scored_at from scoring.lead_scores order by lead_id;
alter table scoring.lead_scores_rows add constraint lead_scores_rows_pkey primary key (lead_id);
drop table scoring.lead_scores;

-- A left join on the audit row's key: a query that reads no model column does not join at all.
create view scoring.lead_scores as
  select c.lead_id, c.score, c.bucket, r.model_name, r.model_version, r.model_sha256, c.run_id, c.source_updated_at, c.scored_at
  from scoring.lead_scores_rows c left join scoring.pipeline_runs r on r.run_id = c.run_id;
comment on view scoring.lead_scores is
  'The current score of every lead, with the model that made it (named once per run in scoring.pipeline_runs). Its rows are in scoring.lead_scores_rows.';
analyze scoring.lead_scores_rows;

-- Down Migration
-- The table gets its model columns back from the audit rows; a run without a model name gives an empty one, as rollback wrote.
drop view scoring.lead_scores;
create table scoring.lead_scores (
  lead_id           bigint not null,
  score             double precision not null,
  bucket            text not null,
  model_name        text not null,
  model_version     text not null,
  model_sha256      text not null,
  run_id            text not null,
  source_updated_at timestamptz,
  scored_at         timestamptz not null
) with (fillfactor = 90);
insert into scoring.lead_scores
  select c.lead_id, c.score, c.bucket, coalesce(r.model_name, ''), r.model_version, r.model_sha256, c.run_id, c.source_updated_at, c.scored_at
  from scoring.lead_scores_rows c left join scoring.pipeline_runs r on r.run_id = c.run_id order by c.lead_id;
alter table scoring.lead_scores add constraint lead_scores_pkey primary key (lead_id);
drop table scoring.lead_scores_rows;
