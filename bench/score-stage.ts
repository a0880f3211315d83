/**
 * The batch-score stage alone, for comparing ways of reading, scoring and staging a chunk: every chunk
 * of one run of `--leads` leads read, scored and staged (each chunk's transaction rolled back), with the
 * chunks' concurrency, and the CPU seconds of this process (its model threads included; its main thread
 * alone in brackets) and of PostgreSQL's processes. `node dist/bench/score-stage.js --leads 1000000 --repeat 3`
 * (its own embedded PostgreSQL under .scoreflow/bench-score or SCOREFLOW_BENCH_HOME, port 5497).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { stageLeadChunk } from '../activities/stage-lead-chunk.js';
import { createRunStagingTable, runStagingTable } from '../activities/sql/run-tables.js';
import { withClient } from '../db/pool.js';
import { loadConfig } from '../lib/config.js';
import { makeLogger } from '../lib/logger.js';
import { PROJECT_ROOT } from '../lib/paths.js';
import { loadModel } from '../models/load-model.js';
import { parseLeadsTable } from '../source/leads-table.js';
import { readDistribution } from '../source/synthetic-leads.js';
import { openRuntime } from '../workers/runtime.js';
import { seedBenchLeads } from './bench-db.js';
import { inferenceAlone } from './inference.js';
import { positiveInt } from './report.js';

const RUN = 'bench-score-stage';

/** The fields of a /proc stat file after the command name: [1] the parent, [11] and [12] user and system ticks. */
const statFields = (file: string) => {
  const stat = fs.readFileSync(file, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
};
const TICK = 100;

/** CPU seconds (user + system) of the processes whose parent is `parent`, PostgreSQL's backends and helpers. */
function childrenCpu(parent: number): number {
  let total = 0;
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const fields = statFields(`/proc/${pid}/stat`);
      if (Number(fields[1]) === parent) total += (Number(fields[11]) + Number(fields[12])) / TICK;
    } catch {
      // The process ended meanwhile.
    }
  }
  return total;
}

/** CPU seconds of this process's main thread (the event loop: parsing, encoding, I/O), without the model's thread and V8's helpers. */
function mainThreadCpu(): number {
  const fields = statFields(`/proc/self/task/${process.pid}/stat`);
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

const opts = new Command()
  .option('--leads <n>', 'leads in the run', positiveInt, 1_000_000)
  .option('--repeat <n>', 'times the stage is run', positiveInt, 3)
  .parse()
  .opts<{ leads: number; repeat: number }>();

const env: NodeJS.ProcessEnv = { ...process.env, SCOREFLOW_HOME: process.env['SCOREFLOW_BENCH_HOME'] ?? path.join(PROJECT_ROOT, '.scoreflow', 'bench-score'), SCOREFLOW_PG_PORT: '5497', LOG_LEVEL: 'warn' };
delete env['DATABASE_URL'];
const config = loadConfig(env);
const log = makeLogger('warn');
const rt = await openRuntime(config, log, { temporal: false });
try {
  const { pool } = rt;
  const exists = (await pool.query("select to_regclass('public.leads') is not null as e")).rows[0].e as boolean;
  const n = exists ? ((await pool.query<{ n: number }>('select count(*)::int as n from public.leads')).rows[0]!.n) : 0;
  if (n !== opts.leads) await seedBenchLeads(rt, opts.leads);
  // Scored on as many threads as a worker's (SCOREFLOW_MODEL_THREADS); onnxruntime alone runs on this thread.
  const model = { ...(await loadModel(config.model.dir)), threads: config.scoring.modelThreads };
  const { chunkSize, concurrency } = config.scoring;
  const forget = async () => {
    const staging = await runStagingTable(pool, RUN);
    if (staging) await pool.query(`drop table ${staging.sql}`);
    await pool.query('delete from scoring.run_leads where run_id = $1', [RUN]);
    await pool.query('delete from scoring.pipeline_runs where run_id = $1', [RUN]);
  };
  await forget();
  await pool.query(
    `insert into scoring.pipeline_runs (run_id, pipeline, as_of, status, scoreflow_version, model_sha256, chunks, extracted_at)
     values ($1, 'lead-scoring', current_date, 'scoring', 'bench', $2, 0, now())`,
    [RUN, model.sha256],
  );
  // As extract does: the run's chunks stage into a table of the run's own.
  await withClient(pool, (client) => createRunStagingTable(client, RUN));
  const { rowCount } = await pool.query(
    `insert into scoring.run_leads (run_id, chunk, lead_ids)
     select $1, chunk, array_agg(lead_id order by lead_id)
     from (select lead_id, ((row_number() over (order by lead_id)) - 1) / $2::int as chunk from public.leads) l group by chunk`,
    [RUN, chunkSize],
  );
  const chunks = rowCount ?? 0;
  const postmaster = Number(fs.readFileSync(path.join(config.home, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const alone = await inferenceAlone(model, readDistribution(config.model.dir), Math.min(opts.leads, 300_000));
  const grouped = await inferenceAlone(model, readDistribution(config.model.dir), Math.min(opts.leads, 300_000), true);
  const activity = { heartbeat() {}, throwIfCancelled() {} };
  const source = parseLeadsTable(config.source.leadsTable);
  const perSecond = (m: { rows: number; ms: number }) => Math.round((m.rows * 1000) / m.ms).toLocaleString('en');
  console.log(`onnxruntime alone: ${perSecond(alone)} rows/s (rows grouped as the worker scores them: ${perSecond(grouped)}); ${chunks} chunks of ${chunkSize}, concurrency ${concurrency}`);
  for (let i = 0; i < opts.repeat; i++) {
    const cpu = process.cpuUsage();
    const mainCpu = mainThreadCpu();
    const pgCpu = childrenCpu(postmaster);
    const start = performance.now();
    let next = 0;
    let scored = 0;
    let rejected = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      for (let chunk = next++; chunk < chunks; chunk = next++) {
        const client = await pool.connect();
        try {
          await client.query('begin');
          const counts = await stageLeadChunk(client, { runId: RUN, chunk, model, source, activity, started: Date.now() });
          scored += counts.scored;
          rejected += counts.rejected;
        } finally {
          await client.query('rollback');
          client.release();
        }
      }
    }));
    const ms = performance.now() - start;
    const used = process.cpuUsage(cpu);
    const rss = process.memoryUsage().rss;
    console.log(
      `run ${i + 1}: ${scored.toLocaleString('en')} rows (${rejected.toLocaleString('en')} rejected) in ${(ms / 1000).toFixed(2)} s = ${Math.round((scored * 1000) / ms).toLocaleString('en')} rows/s` +
      ` (${((alone.ms / alone.rows) * scored / ms * 100).toFixed(0)}% of onnxruntime alone); CPU worker ${((used.user + used.system) / 1e6).toFixed(2)} s` +
      ` (main thread ${(mainThreadCpu() - mainCpu).toFixed(2)} s),` +
      ` PostgreSQL ${(childrenCpu(postmaster) - pgCpu).toFixed(2)} s; RSS ${Math.round(rss / 2 ** 20)} MiB`,
    );
  }
  await forget();
} finally {
  await rt.close();
}
