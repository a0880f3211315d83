-- Up Migration
-- The scoring schema: one audit row per run, the run's snapshot and staged work, the published
-- scores analysts query, and the watermark that makes each morning incremental.
create schema if not exists scoring;

-- One row per run (run_id = Temporal workflow id, e.g. lead-scoring-2026-11-25), updated at every stage.
create table scoring.pipeline_runs (
  run_id            text primary key,
  pipeline          text not null,
  as_of             date not null,
  full_refresh      boolean not null default false,
  temporal_run_id   text,
  status            text not null check (status in ('extracting', 'scoring', 'storing', 'published', 'failed')),
  model_name        text,
  model_version     text,
  model_sha256      text,
  scoreflow_version text not null,
  leads_extracted   integer,
  chunks            integer,
  leads_scored      integer,
  leads_rejected    integer,
  leads_published   integer,
  extract_ms        integer,
  score_ms          integer,
  store_ms          integer,
  extracted_at      timestamptz,
  error_type        text,
  error_message     text,
  started_at        timestamptz not null default now(),
  updated_at        timestamptz not null default now(),
  finished_at       timestamptz
);
create index pipeline_runs_as_of on scoring.pipeline_runs (pipeline, as_of desc);

-- The run's snapshot: which leads it scores, in which chunk. Fixed at extract, so retries see the same set.
create table scoring.run_leads (
  run_id  text not null references scoring.pipeline_runs on delete cascade,
  lead_id bigint not null,
  chunk   integer not null,
  primary key (run_id, lead_id)
);
create index run_leads_chunk on scoring.run_leads (run_id, chunk);

-- One row per scored chunk; its presence means the chunk's staged rows are complete.
create table scoring.run_chunks (
  run_id    text not null references scoring.pipeline_runs on delete cascade,
  chunk     integer not null,
  scored    integer not null,
  rejected  integer not null,
  score_ms  integer not null,
  scored_at timestamptz not null default now(),
  primary key (run_id, chunk)
);

-- Scores of a run not yet published; emptied by the store stage in the transaction that publishes them.
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

-- Leads a run could not score, with the reason (NULL feature, out of range, unknown category, duplicate id).
create table scoring.rejected_leads (
  run_id            text not null references scoring.pipeline_runs on delete cascade,
  lead_id           bigint not null,
  chunk             integer,
  source_updated_at timestamptz,
  reason            text not null,
  rejected_at       timestamptz not null default now(),
  primary key (run_id, lead_id)
);
create index rejected_leads_lead on scoring.rejected_leads (lead_id, source_updated_at);

-- What analysts query: the current score of every lead, and which run and model produced it.
create table scoring.lead_scores (
  lead_id           bigint primary key,
  score             double precision not null,
  bucket            text not null,
  model_name        text not null,
  model_version     text not null,
  model_sha256      text not null,
  run_id            text not null,
  source_updated_at timestamptz,
  scored_at         timestamptz not null
);
create index lead_scores_bucket on scoring.lead_scores (bucket);

-- Every published score, one row per (run, lead).
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

-- How far each pipeline has published: the newest source updated_at it scored, with which model.
create table scoring.watermarks (
  pipeline          text primary key,
  source_high_water timestamptz,
  model_sha256      text not null,
  run_id            text not null,
  updated_at        timestamptz not null default now()
);

-- Down Migration
drop schema if exists scoring cascade;
