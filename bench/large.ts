import { outboxSource } from '../activities/crm-sync.js';
import { pipelineTables } from '../activities/pipeline.js';
import { LEAD_SCORING } from '../pipelines/index.js';
import { parseLeadsTable } from '../source/leads-table.js';
import type { Runtime } from '../workers/runtime.js';
import { dropSibling, openSibling, seedBenchLeads } from './bench-db.js';
import { databaseBytes, footprint, tableBytes, type Footprint } from './footprint.js';
import { measureRun, type MeasuredRun } from './pipeline-run.js';
import { timePlanOutbox, type TimedPlan } from './plan-outbox.js';
import { int, secs } from './report.js';
import { startWorkerProcess } from './worker-process.js';

/** One size of the lead-scoring run and what it left: its run, the worker's peak RSS, disk, and the CRM plan of its scores. */
export interface ScalePoint {
  leads: number;
  run: MeasuredRun;
  /** Peak RSS of the one `scoreflow worker` process, in MiB. */
  rss: number;
  /** After the run, before the CRM plan. */
  disk: Footprint;
  /** planOutbox over every published score (one outbox row per lead). */
  plan: TimedPlan;
  /** scoring.crm_outbox after the plan. */
  outboxBytes: number;
}

/** The --large section: the --leads run and the large one, measured the same way. */
export interface ScaleMeasurements {
  base: ScalePoint;
  /** With the seed's time and its whole database after the plan (bench_large holds nothing else). */
  large: ScalePoint & { seedMs: number; databaseBytes: number };
}

const say = (line: string) => process.stderr.write(`bench: ${line}\n`);
const DATABASE = 'bench_large';
/** A CRM target nothing was ever sent to: every published score is planned. */
const TARGET = 'bench:plan';

/** Plans the CRM sync of the run's published scores (the planning step of prepareCrmSync only; no CRM is called). */
async function planFor(rt: Runtime, runId: string): Promise<{ plan: TimedPlan; outboxBytes: number }> {
  const definition = rt.pipelines.get(LEAD_SCORING);
  const plan = await timePlanOutbox(rt.pool, { runId, ...outboxSource({ definition, ...pipelineTables(definition) }), target: TARGET, partitions: rt.config.crm.concurrency });
  say(`planned the CRM sync of ${int(plan.plan.contacts)} published scores in ${secs(plan.ms)}`);
  return { plan, outboxBytes: await tableBytes(rt.pool, 'scoring.crm_outbox') };
}

/**
 * After the runs at --leads: plans the CRM sync of that run's scores, then in a database of its own seeds
 * `leads`, runs lead scoring through Temporal with one worker process (CRM stage off), reads the disk
 * the scoring schema uses and plans the CRM sync of its scores; the database is dropped at the end.
 */
export async function benchLarge(
  rt: Runtime,
  env: NodeJS.ProcessEnv,
  o: { leads: number; asOf: string; base: Omit<ScalePoint, 'plan' | 'outboxBytes'> },
): Promise<ScaleMeasurements> {
  say(`CRM planning for the ${int(o.base.leads)}-lead run`);
  const base = { ...o.base, ...(await planFor(rt, o.base.run.runId)) };

  say(`the pipeline on ${int(o.leads)} leads in a database of its own (one scoreflow worker process, CRM stage off)`);
  const large = await openSibling(rt, env, DATABASE);
  try {
    const seedMs = await seedBenchLeads(large, o.leads);
    say(`seeded ${int(o.leads)} leads in ${secs(seedMs)}`);
    const worker = await startWorkerProcess(large);
    let run: MeasuredRun, rss: number;
    try {
      run = await measureRun(large, { asOf: o.asOf, crm: false });
      rss = worker.peakRssMiB();
    } finally {
      await worker.stop();
    }
    say(`${int(o.leads)} leads scored and published in ${secs(run.wallMs)}`);
    const disk = await footprint(large.pool, parseLeadsTable(large.config.source.leadsTable));
    const planned = await planFor(large, run.runId);
    return { base, large: { leads: o.leads, seedMs, run, rss, disk, ...planned, databaseBytes: await databaseBytes(large.pool) } };
  } finally {
    await dropSibling(rt, large, DATABASE);
    say(`dropped database ${DATABASE}`);
  }
}
