#!/usr/bin/env node
/**
 * `npm run bench`: PostgreSQL baselines, a naive pipeline, and the real pipeline through Temporal on
 * the same seeded leads, then an incremental morning, memory at two sizes, a CRM sync and the product
 * recommender (bench/recs.ts); prints one table with each figure beside its target and writes the
 * figures as JSON to bench/results/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../lib/config.js';
import { makeLogger } from '../lib/logger.js';
import { PROJECT_ROOT } from '../lib/paths.js';
import { loadModel, readCard } from '../models/load-model.js';
import { parseLeadsTable } from '../source/leads-table.js';
import { seedLeads } from '../source/seed.js';
import { readDistribution } from '../source/synthetic-leads.js';
import { openRuntime, type Runtime } from '../workers/runtime.js';
import { naivePipeline, postgresBaselines } from './baselines.js';
import { benchEnv } from './bench-env.js';
import { inferenceAlone } from './inference.js';
import { baselineMs, benchFigures, recsBaselineMs, recsFigures, type Measurements } from './figures.js';
import { measureRun, type MeasuredRun } from './pipeline-run.js';
import { benchRecs, type RecsMeasurements } from './recs.js';
import { int, positiveInt, printFigures, secs, writeResults } from './report.js';
import { startWorkerProcess } from './worker-process.js';

const share = (v: string) => {
  const n = Number(v);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError('expected a share between 0 and 1, such as 0.01');
  return n;
};

interface Options {
  leads: number;
  small: number;
  sample: number;
  changed: number;
  /** The recommender section: customers and products of its shop, or recs false (--no-recs) to skip it. */
  recs: boolean;
  recsCustomers: number;
  recsProducts: number;
  /** Where the recommender run's worker writes a V8 CPU profile (node --cpu-prof), if set. */
  recsCpuProf?: string;
  /** Where the lead-scoring runs' worker writes a V8 CPU profile, if set. */
  cpuProf?: string;
  out: string;
}

const say = (line: string) => process.stderr.write(`bench: ${line}\n`);

async function seed(rt: Runtime, count: number): Promise<void> {
  const started = Date.now();
  // Leads last touched 1 to 90 days ago, as in a CRM in use: the incremental morning finds only the changed ones.
  await seedLeads(rt.pool, parseLeadsTable(rt.config.source.leadsTable), readCard(rt.config.model.dir), readDistribution(rt.config.model.dir), {
    count, seed: 1, messyRate: 0, replace: true, ageDays: 90,
  });
  await rt.pool.query('vacuum analyze');
  say(`seeded ${int(count)} leads in ${secs(Date.now() - started)}`);
}

/** A runtime on another database of the same PostgreSQL, sharing Temporal and the sandbox, with its own task queue. */
async function openSibling(rt: Runtime, env: NodeJS.ProcessEnv, database: string): Promise<Runtime> {
  await rt.pool.query(`drop database if exists ${database}`);
  await rt.pool.query(`create database ${database}`);
  const url = new URL(rt.databaseUrl);
  url.pathname = `/${database}`;
  const config = loadConfig({ ...env, SCOREFLOW_TASK_QUEUE: `bench-${database}`, DATABASE_URL: url.toString(), TEMPORAL_ADDRESS: rt.temporal!.address, HUBSPOT_BASE_URL: rt.crm!.baseUrl, HUBSPOT_ACCESS_TOKEN: rt.crm!.token });
  return openRuntime(config, rt.log, { temporal: true });
}

/** 429s the sandbox has answered so far (its admin endpoint, /_sandbox/stats). */
async function sandboxRateLimited(rt: Runtime): Promise<number> {
  return ((await (await fetch(`${rt.crm!.baseUrl}/_sandbox/stats`)).json()) as { rateLimited: number }).rateLimited;
}

async function main(o: Options): Promise<void> {
  const env = benchEnv();
  fs.rmSync(env['SCOREFLOW_HOME']!, { recursive: true, force: true });
  const config = loadConfig(env);
  const log = makeLogger(config.logLevel ?? 'warn');
  say(`starting PostgreSQL, Temporal and the HubSpot sandbox under ${env['SCOREFLOW_HOME']}`);
  // Loaded once, before anything starts: a missing or mismatched model stops the bench here.
  const model = await loadModel(config.model.dir);
  const rt = await openRuntime(config, log, { temporal: true }).catch(async (err: unknown) => {
    await model.session.release();
    throw err;
  });
  const table = parseLeadsTable(config.source.leadsTable);
  const day = (n: number) => `2026-11-${String(n).padStart(2, '0')}`;
  try {
    await seed(rt, o.leads);

    say('PostgreSQL baselines: COPY out features, COPY in scores, upsert into a keyed table');
    const pg = await postgresBaselines(rt.pool, table, model.card);
    say(`naive pipeline, one lead at a time, on ${int(o.sample)} leads`);
    const naive = await naivePipeline(rt.pool, table, model, o.sample);
    const inferenceRows = Math.min(o.leads, 200_000);
    say(`onnxruntime alone on ${int(inferenceRows)} rows`);
    const inference = await inferenceAlone(model, readDistribution(config.model.dir), inferenceRows);

    say(`the real pipeline through Temporal on ${int(o.leads)} leads (one scoreflow worker process)`);
    const worker = await startWorkerProcess(rt, {}, o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(o.cpuProf)}`] : []);
    const full = await measureRun(rt, { asOf: day(2), crm: false });
    const rssFull = worker.peakRssMiB();
    const every = Math.round(1 / o.changed);
    const changed = await rt.pool.query(
      `update ${table.sql} set updated_at = now(), site_visits_30d = (site_visits_30d + 1) % 1000 where lead_id % ${every} = 0`,
    );
    say(`incremental morning: ${int(changed.rowCount ?? 0)} leads changed`);
    const incremental = await measureRun(rt, { asOf: day(3), crm: false });
    await worker.stop();

    say(`the same pipeline on ${int(o.small)} leads in a second database, then a CRM sync with two workers`);
    const small = await openSibling(rt, env, 'bench_small');
    let smallRun: MeasuredRun, crmRun: MeasuredRun, rssSmall: number, rateLimited: number;
    try {
      await seed(small, o.small);
      const first = await startWorkerProcess(small);
      smallRun = await measureRun(small, { asOf: day(2), crm: false });
      rssSmall = first.peakRssMiB();
      const second = await startWorkerProcess(small);
      const before = await sandboxRateLimited(small);
      crmRun = await measureRun(small, { asOf: day(3), crm: true });
      rateLimited = (await sandboxRateLimited(small)) - before;
      await Promise.all([first.stop(), second.stop()]);
    } finally {
      await small.close();
    }

    let recs: RecsMeasurements | undefined;
    if (o.recs) recs = await benchRecs(rt, { customers: o.recsCustomers, products: o.recsProducts, asOf: day(2), ...(o.recsCpuProf ? { cpuProf: path.resolve(o.recsCpuProf) } : {}) });

    const measured: Measurements = {
      leads: o.leads, small: o.small, changed: o.changed, crmRatePer10s: config.crm.ratePer10s,
      baselines: pg, naive, inference, full, incremental, crm: crmRun, rssSmall, rssFull, rateLimited,
    };
    const figures = [...benchFigures(measured), ...(recs ? recsFigures(recs) : [])];
    process.stdout.write(`\n${printFigures(figures)}\n`);

    const results = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
      options: o,
      settings: { chunkSize: config.scoring.chunkSize, scoringConcurrency: config.scoring.concurrency, crmRatePer10s: config.crm.ratePer10s },
      baselines: { ...pg, totalMs: baselineMs(pg) },
      naive,
      inference,
      runs: { full, incremental, small: smallRun, crm: crmRun },
      memory: { peakRssMiBSmall: rssSmall, peakRssMiBFull: rssFull },
      crm: { rateLimited },
      ...(recs ? { recs: { ...recs, baselineMs: recsBaselineMs(recs) } } : {}),
      figures,
    };
    writeResults(o.out, { prefix: 'bench', latest: 'latest.json', date: results.date, results, say });
  } finally {
    await model.session.release();
    await rt.close();
  }
}

const program = new Command('bench')
  .description('benchmark every stage against its PostgreSQL baseline, in one run on one database')
  .option('--leads <n>', 'leads in the full run', positiveInt, 1_000_000)
  .option('--small <n>', 'leads in the smaller run (memory growth) and contacts in the CRM sync', positiveInt, 100_000)
  .option('--sample <n>', 'leads in the naive one-at-a-time pipeline', positiveInt, 10_000)
  .option('--changed <share>', 'share of leads changed before the incremental morning', share, 0.01)
  .option('--recs-customers <n>', 'customers in the recommender section', positiveInt, 1_000_000)
  .option('--recs-products <n>', 'products in the recommender\'s shop (a model is trained for it when the shipped one has fewer items)', positiveInt, 10_000)
  .option('--recs-cpu-prof <dir>', 'write a CPU profile of the recommender run\'s worker (node --cpu-prof) into dir')
  .option('--cpu-prof <dir>', 'write a CPU profile of the lead-scoring runs\' worker (node --cpu-prof) into dir')
  .option('--no-recs', 'skip the recommender section')
  .option('--out <dir>', 'where the JSON figures go', path.join(PROJECT_ROOT, 'bench', 'results'))
  .action(async (o: Options) => main(o));

program.parseAsync().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`bench: ${err instanceof ApplicationFailure ? err.type : err.name}: ${err.message}\n`);
    process.exit(1);
  },
);
