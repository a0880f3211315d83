#!/usr/bin/env node
/**
 * `npm run bench:outbox`: the CRM outbox at 1M and 10M contacts on the bench's own embedded PostgreSQL.
 * Times planOutbox and the walk over every batch of one partition (resume point once, then one index
 * lookup per batch), and the previous next-batch query on batches at the start and at the end of the
 * partition; prints the figures and the EXPLAIN (ANALYZE) of each query, and writes them to bench/results/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { migrate } from '../db/migrate.js';
import { makePool, type Pool } from '../db/pool.js';
import { makeLogger } from '../lib/logger.js';
import { PROJECT_ROOT } from '../lib/paths.js';
import { startEmbeddedPostgres } from '../services/embedded-postgres.js';
import { parseLeadsTable } from '../source/leads-table.js';
import { outboxBatches, readBatch, resumeBatch } from '../activities/sql/crm-outbox.js';
import { timePlanOutbox } from './plan-outbox.js';
import { int, secs } from './report.js';

const RUN = 'bench-outbox';
const PARTITIONS = 4;
/** The next-batch query before the cursor: the first unanswered batch, found by scanning the partition every time. */
const PREVIOUS_NEXT_BATCH = `select min(o.batch) as batch from scoring.crm_outbox o
  where o.run_id = $1 and o.partition = $2
    and not exists (select 1 from scoring.crm_batches b where b.run_id = o.run_id and b.partition = o.partition and b.batch = o.batch)`;
const RESUME = 'select coalesce(max(batch) + 1, 0)::int as next from scoring.crm_batches where run_id = $1 and partition = $2';
const READ = `select lead_id, email, score, bucket, model_version, scored_at from scoring.crm_outbox
  where run_id = $1 and partition = $2 and batch = $3 order by lead_id`;

const say = (line: string) => process.stderr.write(`bench:outbox: ${line}\n`);
const ms = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e6;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

/** Leads (only the columns the outbox reads) and their published scores, written by generate_series. */
async function fill(pool: Pool, rows: number): Promise<void> {
  await pool.query('drop table if exists public.leads');
  await pool.query('truncate scoring.lead_scores_rows, scoring.crm_outbox, scoring.crm_batches, scoring.crm_sync_state, scoring.crm_sync_failures');
  await pool.query('create table public.leads (lead_id bigint primary key, email text, updated_at timestamptz not null)');
  await pool.query(
    `insert into public.leads select i, 'lead' || i || '@company' || (i % 5000) || '.example', now() - make_interval(hours => (i % 2000)::int)
     from generate_series(1, $1::bigint) i`,
    [rows],
  );
  await pool.query(
    `insert into scoring.pipeline_runs (run_id, pipeline, as_of, status, scoreflow_version, model_name, model_version, model_sha256)
     values ('bench-publish', 'lead-scoring', current_date, 'published', 'bench', 'lead-scoring', '1.0.0', repeat('0', 64))
     on conflict (run_id) do nothing`,
  );
  await pool.query(
    `insert into scoring.lead_scores_rows (lead_id, score, bucket, run_id, source_updated_at, scored_at)
     select i, s, case when s >= 0.75 then 'hot' when s >= 0.5 then 'warm' when s >= 0.25 then 'cool' else 'cold' end,
            'bench-publish', now(), now()
     from (select i, ((i * 2654435761) % 1000003) / 1000003.0 as s from generate_series(1, $1::bigint) i) t`,
    [rows],
  );
  await pool.query('vacuum analyze public.leads, scoring.lead_scores_rows');
}

/** Answered batches of partition 0: exactly those before `batch`. */
async function answeredUpTo(pool: Pool, batch: number): Promise<void> {
  await pool.query('delete from scoring.crm_batches where run_id = $1 and partition = 0 and batch >= $2', [RUN, batch]);
  await pool.query(
    `insert into scoring.crm_batches (run_id, partition, batch, sent, failed, calls, rate_limited)
     select $1, 0, b, 100, 0, 1, 0 from generate_series(0, $2::int - 1) b on conflict do nothing`,
    [RUN, batch],
  );
}

/** Times the previous query and the cursor's two queries with partition 0 answered up to `batch`. */
async function sampleAt(pool: Pool, batch: number): Promise<{ batch: number; previousMs: number; resumeMs: number; readMs: number }> {
  await answeredUpTo(pool, batch);
  let t = process.hrtime.bigint();
  const { rows } = await pool.query<{ batch: number }>(PREVIOUS_NEXT_BATCH, [RUN, 0]);
  const previousMs = ms(t);
  if (rows[0]?.batch !== batch) throw new Error(`the previous query found batch ${rows[0]?.batch}, expected ${batch}`);
  t = process.hrtime.bigint();
  if ((await resumeBatch(pool, RUN, 0)) !== batch) throw new Error(`the cursor resumes elsewhere than ${batch}`);
  const resumeMs = ms(t);
  t = process.hrtime.bigint();
  await readBatch(pool, RUN, 0, batch);
  return { batch, previousMs, resumeMs, readMs: ms(t) };
}

async function explain(pool: Pool, sql: string, params: unknown[]): Promise<string> {
  const { rows } = await pool.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${sql}`, params);
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

/** One size: fill, plan, walk partition 0, then sample both next-batch queries at its start and end. */
async function measure(pool: Pool, rows: number, samples: number) {
  say(`filling leads and lead_scores with ${int(rows)} rows`);
  let t = process.hrtime.bigint();
  await fill(pool, rows);
  const fillMs = ms(t);

  const { plan, ms: planMs } = await timePlanOutbox(pool, { runId: RUN, pipeline: 'lead-scoring', table: parseLeadsTable('public.leads'), current: 'scoring.lead_scores_rows', target: 'sandbox:1', partitions: PARTITIONS });
  await pool.query('analyze scoring.crm_outbox');
  say(`planned ${int(plan.contacts)} contacts in ${plan.batches} batches in ${secs(planMs)}`);

  const perBatch: number[] = [];
  t = process.hrtime.bigint();
  let last = process.hrtime.bigint();
  for await (const next of outboxBatches(pool, RUN, 0)) {
    // What recordBatch does last: the batch is marked answered.
    await pool.query('insert into scoring.crm_batches (run_id, partition, batch, sent, failed, calls, rate_limited) values ($1, 0, $2, $3, 0, 1, 0)', [RUN, next.batch, next.contacts.length]);
    const now = process.hrtime.bigint();
    perBatch.push(Number(now - last) / 1e6);
    last = now;
  }
  const walkMs = ms(t);
  const batches = perBatch.length;
  say(`walked partition 0: ${int(batches)} batches in ${secs(walkMs)}`);
  await pool.query('analyze scoring.crm_batches');

  const positions = [...Array.from({ length: samples }, (_, i) => i), ...Array.from({ length: samples }, (_, i) => batches - samples + i)];
  const sampled = [];
  for (const batch of positions) sampled.push(await sampleAt(pool, batch));
  // The plans at the end of the partition: the last batch unanswered.
  await answeredUpTo(pool, batches - 1);
  const plans = {
    previous: await explain(pool, PREVIOUS_NEXT_BATCH, [RUN, 0]),
    resume: await explain(pool, RESUME, [RUN, 0]),
    read: await explain(pool, READ, [RUN, 0, batches - 1]),
  };
  const window = Math.min(1000, Math.floor(batches / 2));
  const start = sampled.slice(0, samples);
  const end = sampled.slice(samples);
  return {
    rows, contacts: plan.contacts, batchesInPartition: batches, fillMs, planMs, walkMs,
    walkPerBatchMs: { first: median(perBatch.slice(1, window + 1)), last: median(perBatch.slice(-window)) },
    previousNextBatchMs: { start: median(start.map((s) => s.previousMs)), end: median(end.map((s) => s.previousMs)) },
    cursorMs: {
      resume: median(sampled.map((s) => s.resumeMs)),
      readStart: median(start.map((s) => s.readMs)),
      readEnd: median(end.map((s) => s.readMs)),
    },
    samples: sampled,
    plans,
  };
}

type Result = Awaited<ReturnType<typeof measure>>;

function table(results: Result[]): string {
  const row = (label: string, f: (r: Result) => string) => `${label.padEnd(52)}${results.map((r) => f(r).padStart(16)).join('')}`;
  const f2 = (x: number) => `${x.toFixed(2)} ms`;
  return [
    row('outbox contacts', (r) => int(r.contacts)),
    row('planOutbox', (r) => secs(r.planMs)),
    row('planOutbox per 1M contacts', (r) => secs((r.planMs * 1e6) / r.contacts)),
    row(`walk of partition 0 (all batches, cursor)`, (r) => secs(r.walkMs)),
    row('  batches in partition 0', (r) => int(r.batchesInPartition)),
    row('  per batch, first 1000 (median)', (r) => f2(r.walkPerBatchMs.first)),
    row('  per batch, last 1000 (median)', (r) => f2(r.walkPerBatchMs.last)),
    row('cursor: resume point, once per activity (median)', (r) => f2(r.cursorMs.resume)),
    row('cursor: read one batch at the start (median)', (r) => f2(r.cursorMs.readStart)),
    row('cursor: read one batch at the end (median)', (r) => f2(r.cursorMs.readEnd)),
    row('previous next-batch query at the start (median)', (r) => f2(r.previousNextBatchMs.start)),
    row('previous next-batch query at the end (median)', (r) => f2(r.previousNextBatchMs.end)),
    row('previous query x batches: its share of a walk', (r) => secs(((r.previousNextBatchMs.start + r.previousNextBatchMs.end) / 2) * r.batchesInPartition)),
  ].join('\n');
}

async function main(o: { sizes: number[]; samples: number; out: string }): Promise<void> {
  const home = process.env['SCOREFLOW_BENCH_HOME'] ?? path.join(PROJECT_ROOT, '.scoreflow', 'bench');
  const dataDir = path.join(home, 'outbox-pg');
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.mkdirSync(home, { recursive: true });
  const log = makeLogger(process.env['LOG_LEVEL'] === 'debug' ? 'debug' : 'warn');
  const port = Number(process.env['SCOREFLOW_BENCH_OUTBOX_PG_PORT'] ?? 5491);
  say(`starting PostgreSQL on port ${port} under ${dataDir}`);
  const pg = await startEmbeddedPostgres({ dataDir, port, database: 'outbox', log });
  const pool = makePool(pg.url, log, 4);
  try {
    await migrate(pg.url, log);
    const results: Result[] = [];
    for (const rows of o.sizes) results.push(await measure(pool, rows, o.samples));
    process.stdout.write(`\n${''.padEnd(52)}${results.map((r) => `${int(r.rows)} rows`.padStart(16)).join('')}\n${table(results)}\n`);
    for (const r of results) {
      process.stdout.write(`\nEXPLAIN (ANALYZE) at ${int(r.rows)} rows, last batch of partition 0:\n-- previous next-batch query\n${r.plans.previous}\n-- cursor: resume point\n${r.plans.resume}\n-- cursor: read one batch\n${r.plans.read}\n`);
    }
    const report = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
      partitions: PARTITIONS,
      results,
    };
    fs.mkdirSync(o.out, { recursive: true });
    const file = path.join(o.out, `crm-outbox-${report.date.slice(0, 19).replace(/:/g, '')}.json`);
    fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    fs.copyFileSync(file, path.join(o.out, 'crm-outbox-latest.json'));
    say(`figures written to ${path.relative(process.cwd(), file)} and crm-outbox-latest.json`);
  } finally {
    await pool.end();
    await pg.stop();
  }
}

const sizes = (v: string) => {
  const list = v.split(',').map((s) => Number(s.replace(/_/g, '')));
  if (!list.length || list.some((n) => !Number.isInteger(n) || n < PARTITIONS * 100 * 2)) throw new InvalidArgumentError('expected sizes such as 1000000,10000000');
  return list;
};

new Command('bench:outbox')
  .description('the CRM outbox at growing sizes: planning, the walk over a partition, and the next-batch query at its start and end')
  .option('--sizes <list>', 'outbox sizes, comma-separated', sizes, [1_000_000, 10_000_000])
  .option('--samples <n>', 'batches sampled at each end of the partition', (v) => Number(v), 5)
  .option('--out <dir>', 'where the JSON figures go', path.join(PROJECT_ROOT, 'bench', 'results'))
  .action(main)
  .parseAsync()
  .then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`bench:outbox: ${err.name}: ${err.message}\n`);
      process.exit(1);
    },
  );
