-- Up Migration
-- The CRM-sync stage: what HubSpot last accepted per lead, each run's outbox in batches, per-contact
-- failures and skips, and the request budget shared by every worker.

-- What HubSpot last accepted for each lead; a lead is sent again only when its published score moved.
create table scoring.crm_sync_state (
  lead_id       bigint primary key,
  email         text not null,
  score         double precision not null,
  bucket        text not null,
  model_version text not null,
  run_id        text not null,
  hubspot_id    text,
  synced_at     timestamptz not null default now()
);

-- A run's contacts to send, fixed once, numbered into partitions (sent in parallel) and batches of 100.
create table scoring.crm_outbox (
  run_id        text not null,
  lead_id       bigint not null,
  email         text not null,
  score         double precision not null,
  bucket        text not null,
  model_version text not null,
  scored_at     timestamptz not null,
  partition     integer not null,
  batch         integer not null,
  primary key (run_id, lead_id)
);
create index crm_outbox_batch on scoring.crm_outbox (run_id, partition, batch);

-- A batch HubSpot has answered; a resumed partition starts after the last one here.
create table scoring.crm_batches (
  run_id       text not null,
  partition    integer not null,
  batch        integer not null,
  sent         integer not null,
  failed       integer not null,
  calls        integer not null,
  rate_limited integer not null,
  sent_at      timestamptz not null default now(),
  primary key (run_id, partition, batch)
);

-- Contacts a run could not put in HubSpot (failed, verify) or chose not to send (skipped, deferred), with why.
create table scoring.crm_sync_failures (
  run_id   text not null,
  lead_id  bigint not null,
  kind     text not null check (kind in ('failed', 'verify', 'skipped', 'deferred')),
  reason   text not null,
  at       timestamptz not null default now(),
  primary key (run_id, lead_id)
);

-- The shared HubSpot budget: one row per call in the rolling window, and calls per UTC day.
create table scoring.crm_rate_log (called_at timestamptz not null);
create index crm_rate_log_at on scoring.crm_rate_log (called_at);
create table scoring.crm_daily_usage (day date primary key, calls integer not null);

alter table scoring.pipeline_runs
  add column crm_status       text,
  add column crm_started_at   timestamptz,
  add column crm_sent         integer,
  add column crm_unchanged    integer,
  add column crm_failed       integer,
  add column crm_skipped      integer,
  add column crm_deferred     integer,
  add column crm_calls        integer,
  add column crm_rate_limited integer,
  add column crm_verified     integer,
  add column crm_ms           integer;

-- Down Migration
alter table scoring.pipeline_runs
  drop column crm_status, drop column crm_started_at, drop column crm_sent, drop column crm_unchanged, drop column crm_failed,
  drop column crm_skipped, drop column crm_deferred, drop column crm_calls, drop column crm_rate_limited,
  drop column crm_verified, drop column crm_ms;
drop table scoring.crm_daily_usage, scoring.crm_rate_log, scoring.crm_sync_failures, scoring.crm_batches,
  scoring.crm_outbox, scoring.crm_sync_state;
