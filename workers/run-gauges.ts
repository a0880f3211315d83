import { Counter, Gauge } from 'prom-client';
import type { Client } from '@temporalio/client';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../lib/logger.js';
import { registry } from '../lib/metrics.js';
import type { PipelineRegistry } from '../pipelines/index.js';
import { runStatusCounts } from '../activities/sql/run-status-counts.js';
import { scheduleGaps } from './missed-runs.js';

/** Days of finished runs the run gauges count (unfinished runs count however old). */
const RUN_DAYS = 7;
/** Days of scheduled slots the missed-slot gauge looks back. */
const SLOT_DAYS = 7;

const NAMES = ['scoreflow_runs', 'scoreflow_run_oldest_seconds', 'scoreflow_schedule_missed_total', 'scoreflow_schedule_missed_slots'];

/**
 * Series read at scrape time from PostgreSQL and Temporal, so that they are right whichever worker ran what:
 * runs by current status (and how long the oldest has been in it), and scheduled runs that did not start.
 * Every worker reports the same values: aggregate them with max, not sum.
 */
export function registerRunGauges(deps: { pool: Pool; client?: Client; pipelines: PipelineRegistry; log: Logger }): void {
  for (const name of NAMES) registry.removeSingleMetric(name);
  let counts: Promise<Awaited<ReturnType<typeof runStatusCounts>>> | undefined;
  // One query serves both run gauges of a scrape.
  const readCounts = () => (counts ??= runStatusCounts(deps.pool, RUN_DAYS).finally(() => setTimeout(() => (counts = undefined), 1000)));
  new Gauge({
    name: 'scoreflow_runs',
    help: `Runs by pipeline and current status (scoring.pipeline_runs): those changed in the last ${RUN_DAYS} days, and every unfinished one`,
    labelNames: ['pipeline', 'status'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await readCounts().catch(() => [])) this.set({ pipeline: r.pipeline, status: r.status }, r.runs);
    },
  });
  new Gauge({
    name: 'scoreflow_run_oldest_seconds',
    help: 'Seconds since the oldest run in this status last changed (e.g. how long a run has awaited approval)',
    labelNames: ['pipeline', 'status'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await readCounts().catch(() => [])) this.set({ pipeline: r.pipeline, status: r.status }, r.oldest_seconds);
    },
  });
  if (!deps.client) return;
  const client = deps.client;
  let gaps: Promise<Array<[string, Awaited<ReturnType<typeof scheduleGaps>>]>> | undefined;
  const readGaps = () => (gaps ??= Promise.all(deps.pipelines.all().map(async (def) =>
    [def.id, await scheduleGaps({ client, pool: deps.pool }, def, { days: SLOT_DAYS }).catch((err: Error) => {
      deps.log.debug({ pipeline: def.id, err: err.message }, 'could not read the schedule for metrics');
      return undefined;
    })] as [string, Awaited<ReturnType<typeof scheduleGaps>>])).finally(() => setTimeout(() => (gaps = undefined), 1000)));
  new Counter({
    name: 'scoreflow_schedule_missed_total',
    help: 'Scheduled actions Temporal did not take since the schedule was created: skipped (overlap) or missed (catch-up window)',
    labelNames: ['pipeline', 'reason'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const [pipeline, g] of await readGaps()) {
        if (!g) continue;
        this.inc({ pipeline, reason: 'overlap' }, g.skippedOverlap);
        this.inc({ pipeline, reason: 'catchup-window' }, g.missedCatchupWindow);
      }
    },
  });
  new Gauge({
    name: 'scoreflow_schedule_missed_slots',
    help: `Scheduled times of the last ${SLOT_DAYS} days (15 minutes' grace) whose run never started`,
    labelNames: ['pipeline'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const [pipeline, g] of await readGaps()) if (g) this.set({ pipeline }, g.missed.length);
    },
  });
}
