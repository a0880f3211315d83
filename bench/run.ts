#!/usr/bin/env node
/**
 * `npm run bench`: PostgreSQL baselines, a naive pipeline, and the real pipeline through Temporal on
 * the same seeded leads, then an incremental morning, memory at two sizes, a CRM sync and the product
 * recommender (bench/recs.ts), and with --large N the run again at N leads compared per row (bench/large.ts);
 * prints one table with each figure beside its target and writes the figures as JSON to bench/results/.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../lib/config.js';
import { makeLogger } from '../lib/logger.js';
import { PROJECT_ROOT } from '../lib/paths.js';
import { loadModel } from '../models/load-model.js';
import { parseLeadsTable } from '../source/leads-table.js';
import { readDistribution } from '../source/synthetic-leads.js';
import { openRuntime, type Runtime } from '../workers/runtime.js';
import { dropBaselineTables, naivePipeline, postgresBaselines } from './baselines.js';
import { changeBenchLeads, openSibling, seedBenchLeads } from './bench-db.js';
import { benchEnv } from './bench-env.js';
import { cpuParts, cpuUsed, readCpu } from './cpu-time.js';
import { footprint, type Footprint } from './footprint.js';
import { inferenceAlone } from './inference.js';
import { baselineMs, benchFigures, recsBaselineMs, recsFigures, scaleFigures, scaleGrowth, type Measurements } from './figures.js';
import { benchLarge, type ScaleMeasurements } from './large.js';
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
  /** Leads of the --large section (a run compared per row with the --leads run), if set. */
  large?: number;
  out: string;
}

const say = (line: string) => process.stderr.write(`bench: ${line}\n`);

async function seed(rt: Runtime, count: number): Promise<void> {
  say(`seeded ${int(count)} leads in ${secs(await seedBenchLeads(rt, count))}`);
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
    await dropBaselineTables(rt.pool);
    const inferenceRows = Math.min(o.leads, 200_000);
    say(`onnxruntime alone on ${int(inferenceRows)} rows, as they come and grouped as the worker scores them`);
    const inference = await inferenceAlone(model, readDistribution(config.model.dir), inferenceRows);
    const inferenceGrouped = await inferenceAlone(model, readDistribution(config.model.dir), inferenceRows, true);

    say(`the real pipeline through Temporal on ${int(o.leads)} leads (one scoreflow worker process)`);
    const worker = await startWorkerProcess(rt, {}, o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(o.cpuProf)}`] : []);
    const parts = await cpuParts(rt.pool, worker.pid);
    const cpuBefore = readCpu(parts);
    const full = await measureRun(rt, { asOf: day(2), crm: false });
    const cpu = cpuUsed(cpuBefore, readCpu(parts));
    const rssFull = worker.peakRssMiB();
    // Read before anything else writes to the scoring schema: the --large section compares it with the large run's.
    const diskFull: Footprint | undefined = o.large ? await footprint(rt.pool, table) : undefined;
    const every = Math.round(1 / o.changed);
    const changeLeads = () => changeBenchLeads(rt, table, `lead_id % ${every} = 0`);
    say(`incremental morning: ${int(await changeLeads())} leads changed`);
    const incremental = await measureRun(rt, { asOf: day(3), crm: false });
    // A real morning comes a day after the last run, with checkpoints between: its first write to each page of
    // the current table then logs the whole page (full_page_writes). Seconds after the full run, none has passed.
    await rt.pool.query('checkpoint');
    say(`incremental morning after a checkpoint: ${int(await changeLeads())} leads changed`);
    const morning = await measureRun(rt, { asOf: day(4), crm: false });
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

    let large: ScaleMeasurements | undefined;
    if (o.large) large = await benchLarge(rt, env, { leads: o.large, asOf: day(2), base: { leads: o.leads, run: full, rss: rssFull, disk: diskFull! } });

    const measured: Measurements = {
      leads: o.leads, small: o.small, changed: o.changed, crmRatePer10s: config.crm.ratePer10s,
      baselines: pg, naive, inference, inferenceGrouped, full, cpu, incremental, morning, crm: crmRun, rssSmall, rssFull, rateLimited,
    };
    const figures = [...benchFigures(measured), ...(recs ? recsFigures(recs) : []), ...(large ? scaleFigures(large) : [])];
    process.stdout.write(`\n${printFigures(figures)}\n`);

    const results = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
      options: o,
      settings: { chunkSize: config.scoring.chunkSize, scoringConcurrency: config.scoring.concurrency, crmRatePer10s: config.crm.ratePer10s },
      baselines: { ...pg, totalMs: baselineMs(pg) },
      naive,
      inference,
      inferenceGrouped,
      runs: { full, incremental, morning, small: smallRun, crm: crmRun },
      cpu: { full: cpu },
      memory: { peakRssMiBSmall: rssSmall, peakRssMiBFull: rssFull },
      crm: { rateLimited },
      ...(recs ? { recs: { ...recs, baselineMs: recsBaselineMs(recs) } } : {}),
      ...(large ? { large: { ...large, growth: scaleGrowth(large) } } : {}),
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
  .option('--large <n>', 'then run lead scoring on n leads (e.g. 10000000) in a database of its own and compare each stage per row with the --leads run', positiveInt)
  .option('--out <dir>', 'where the JSON figures go', path.join(PROJECT_ROOT, 'bench', 'results'))
  .action(async (o: Options) => main(o));

program.parseAsync().then(
  () => process.exit(0),
  (err: unknown) => {
    // Anything may be thrown: a rejection without an Error still says what it was.
    const kind = err instanceof ApplicationFailure ? err.type : err instanceof Error ? err.name : 'failed';
    process.stderr.write(`bench: ${kind}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
