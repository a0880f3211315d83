-- Up Migration
-- Challenger models and rollback (issue 13).
-- A challenger scores each run's snapshot beside the champion into shadow tables that no reader, publish
-- or CRM stage reads: one row per run it scored (which model, how far), and its rows.
create table scoring.shadow_runs (
  run_id        text primary key references scoring.pipeline_runs on delete cascade,
  pipeline      text not null,
  model_name    text not null,
  model_version text not null,
  model_sha256  text not null,
  chunks        integer not null,
  started_at    timestamptz not null default now(),
  finished_at   timestamptz
);

-- One row per chunk the challenger scored: its presence means the chunk's shadow rows are complete.
create table scoring.shadow_chunks (
  run_id  text not null references scoring.shadow_runs on delete cascade,
  chunk   integer not null,
  scored  integer not null,
  primary key (run_id, chunk)
);

create table scoring.shadow_scores (
  run_id       text not null references scoring.shadow_runs on delete cascade,
  lead_id      bigint not null,
  score        double precision not null,
  bucket       text not null,
  model_sha256 text not null,
  primary key (run_id, lead_id)
);

create table recs.shadow_recommendations (
  run_id       text not null references scoring.shadow_runs on delete cascade,
  customer_id  bigint not null,
  rank         smallint not null check (rank >= 1),
  product_id   bigint not null,
  score        real not null,
  source       text not null check (source in ('model', 'popular')),
  model_sha256 text not null,
  primary key (run_id, customer_id, rank)
);

-- Every change of a pipeline's champion or challenger made by scoreflow's model commands: who, what, when.
create table scoring.model_changes (
  id              bigserial primary key,
  pipeline        text not null,
  action          text not null check (action in ('challenger', 'promote', 'clear-challenger')),
  model_version   text,
  model_sha256    text,
  previous_sha256 text,
  actor           text not null,
  at              timestamptz not null default now()
);
create index model_changes_pipeline on scoring.model_changes (pipeline, at desc);

-- A rollback is a run of its own: kind 'rollback', naming the run whose outputs it republished.
alter table scoring.pipeline_runs
  add column kind text not null default 'run' check (kind in ('run', 'rollback')),
  add column rolled_back_from text,
  add column requested_by text,
  add column reason text;

-- Down Migration
alter table scoring.pipeline_runs drop column reason, drop column requested_by, drop column rolled_back_from, drop column kind;
drop table scoring.model_changes;
drop table recs.shadow_recommendations, scoring.shadow_scores, scoring.shadow_chunks, scoring.shadow_runs;
