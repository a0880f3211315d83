-- Up Migration
-- History names a run's model once, in the run's audit row (issue 14). Staged and history rows carried the
-- model's version and 64-character sha256 on every row: over half of a staged row's bytes, encoded and sent
-- by the worker and COPied in by PostgreSQL a million times a run (measured at 1,000,000 rows, binary COPY
-- into a run's table: 1.96-1.99 s and 167 MB with them, 1.00-1.23 s and 89 MB without). Every chunk of a
-- run is scored with the model the run pinned (the chunk's transaction checks it against the audit row),
-- so scoring.pipeline_runs.model_version and model_sha256 already say it for every row.
-- The rows of history live in scoring.lead_score_history_rows, partitioned by run as before (publishing
-- attaches a run's table to it; deletes go there); scoring.lead_score_history becomes a view with the same
-- columns as before, the model joined from the run's audit row.

-- A run's audit row names the model its history rows name; a run whose rows say otherwise stops the migration.
update scoring.pipeline_runs r
set model_version = coalesce(r.model_version, h.model_version), model_sha256 = coalesce(r.model_sha256, h.model_sha256)
from (select run_id, min(model_version) as model_version, min(model_sha256) as model_sha256
      from scoring.lead_score_history group by run_id) h
where r.run_id = h.run_id and (r.model_version is null or r.model_sha256 is null);
do $$
declare runs text;
begin
  select string_agg(run_id, ', ' order by run_id) into runs from (
    select distinct h.run_id from scoring.lead_score_history h left join scoring.pipeline_runs r using (run_id)
    where r.run_id is null or h.model_version is distinct from r.model_version or h.model_sha256 is distinct from r.model_sha256
  ) differ;
  if runs is not null then
    raise exception 'history rows of runs % name another model than their run in scoring.pipeline_runs (or the run has no row there)', runs
      using hint = 'correct scoring.pipeline_runs.model_version and model_sha256 of those runs, or delete their history rows, then migrate again';
  end if;
end $$;

alter table scoring.lead_score_history rename to lead_score_history_rows;
alter index scoring.lead_score_history_pkey rename to lead_score_history_rows_pkey;
alter index scoring.lead_score_history_lead rename to lead_score_history_rows_lead;
alter table scoring.lead_score_history_rows drop column model_version, drop column model_sha256;
alter table scoring.staged_scores drop column model_version, drop column model_sha256;

-- A left join on the audit row's key: a query that reads no model column does not join at all.
create view scoring.lead_score_history as
  select h.run_id, h.lead_id, h.chunk, h.score, h.bucket, r.model_version, r.model_sha256, h.source_updated_at, h.scored_at
  from scoring.lead_score_history_rows h left join scoring.pipeline_runs r on r.run_id = h.run_id;
comment on view scoring.lead_score_history is
  'Every published score, with the model that made it (named once per run in scoring.pipeline_runs). Its rows are in scoring.lead_score_history_rows.';

-- Down Migration
-- History's partitions are rebuilt with the model columns where they stood; staging gets them back at its end.
drop view scoring.lead_score_history;
alter table scoring.lead_score_history_rows rename to lead_score_history_narrow;
alter index scoring.lead_score_history_rows_pkey rename to lead_score_history_narrow_pkey;
alter index scoring.lead_score_history_rows_lead rename to lead_score_history_narrow_lead;
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
declare p record;
begin
  for p in select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound
           from pg_inherits i join pg_class c on c.oid = i.inhrelid
           where i.inhparent = 'scoring.lead_score_history_narrow'::regclass loop
    execute format('alter table scoring.lead_score_history_narrow detach partition scoring.%I', p.name);
    execute format('alter table scoring.%I rename to %I', p.name, p.name || '_n');
    execute format('create table scoring.%I partition of scoring.lead_score_history %s', p.name, p.bound);
    execute format(
      'insert into scoring.lead_score_history
         select h.run_id, h.lead_id, h.chunk, h.score, h.bucket, r.model_version, r.model_sha256, h.source_updated_at, h.scored_at
         from scoring.%I h join scoring.pipeline_runs r using (run_id)', p.name || '_n');
    execute format('drop table scoring.%I', p.name || '_n');
  end loop;
end $$;
drop table scoring.lead_score_history_narrow;

alter table scoring.staged_scores add column model_version text, add column model_sha256 text;
update scoring.staged_scores s set model_version = r.model_version, model_sha256 = r.model_sha256
  from scoring.pipeline_runs r where r.run_id = s.run_id;
do $$
declare t text;
begin
  for t in select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
           where i.inhparent = 'scoring.staged_scores'::regclass and c.relname <> 'staged_scores_default' loop
    execute format('alter table scoring.%I alter column model_version set not null, alter column model_sha256 set not null', t);
  end loop;
end $$;
