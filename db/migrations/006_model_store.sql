-- Up Migration
-- Every model a run has pinned, by the sha256 of its ONNX file, shared by all workers: a worker whose
-- own model directory already holds another model (a rolling deploy) loads a run's model from here.
-- Rows are written insert-if-absent by extract; a model is a few MB, a handful of versions a year.
create table scoring.model_store (
  sha256        text primary key check (sha256 ~ '^[0-9a-f]{64}$'),
  name          text not null,
  version       text not null,
  card          jsonb not null,
  onnx          bytea not null,
  registered_at timestamptz not null default now()
);

-- Down Migration
drop table scoring.model_store;
