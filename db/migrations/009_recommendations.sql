-- Up Migration
-- The product recommender (pipeline product-recs): staged top-k rows per run and chunk, the popularity
-- list each run computes once, every published run's rows, and the pointer naming the run the email
-- process reads through recs.current_recommendations.
create schema if not exists recs;

create table recs.staged_recommendations (
  run_id      text not null,
  chunk       integer not null,
  customer_id bigint not null,
  rank        smallint not null,
  product_id  bigint not null,
  score       real not null,
  source      text not null check (source in ('model', 'popular')),
  generated_at timestamptz not null,
  primary key (run_id, customer_id, rank)
);

-- Customers who got fewer than k products, and why (a run's record, kept with its rows).
create table recs.short_recommendations (
  run_id      text not null,
  customer_id bigint not null,
  returned    smallint not null,
  reason      text not null,
  primary key (run_id, customer_id)
);

-- The most-bought active products in the four weeks before the run's snapshot, computed once per run.
create table recs.popular_products (
  run_id     text not null,
  rank       smallint not null,
  product_id bigint not null,
  purchases  integer not null,
  primary key (run_id, rank)
);

create table recs.customer_recommendations (
  run_id        text not null,
  customer_id   bigint not null,
  rank          smallint not null check (rank >= 1),
  product_id    bigint not null,
  score         real not null,
  source        text not null check (source in ('model', 'popular')),
  model_version text not null,
  model_sha256  text not null,
  generated_at  timestamptz not null,
  primary key (run_id, customer_id, rank)
);

-- Which run each recommender pipeline's readers see; switched in the publish transaction.
create table recs.published_run (
  pipeline     text primary key,
  run_id       text not null,
  published_at timestamptz not null default now()
);

-- The email process's stable view: the complete set of the published run, nothing of a run in progress.
create view recs.current_recommendations as
  select r.customer_id, r.rank, r.product_id, r.score, r.source, r.run_id, r.model_version, r.model_sha256, r.generated_at
  from recs.customer_recommendations r
  join recs.published_run p on p.run_id = r.run_id
  where p.pipeline = 'product-recs';

-- Down Migration
drop view recs.current_recommendations;
drop table recs.published_run, recs.customer_recommendations, recs.popular_products, recs.short_recommendations, recs.staged_recommendations;
drop schema recs;
