import { AsyncLocalStorage } from 'node:async_hooks';
import { Counter, Histogram, Registry } from 'prom-client';

/**
 * scoreflow's own Prometheus series, in one registry that workers serve on SCOREFLOW_METRICS_PORT (see
 * workers/metrics-server.ts). Module-level, as prom-client intends: any activity or module increments them
 * without wiring, and a process has one set. Series computed at scrape time (runs by status, missed
 * scheduled runs) are registered by the server, which has the database and Temporal at hand.
 */
export const registry = new Registry();

/** Rows through a stage: extract/extracted, extract/rejected (duplicate keys), batch-score/scored|rejected, store/published, crm-sync/sent|failed. */
export const rows = new Counter({
  name: 'scoreflow_rows_total',
  help: 'Rows handled by a stage of a pipeline, by outcome (counted when the stage activity completes)',
  labelNames: ['pipeline', 'stage', 'outcome'] as const,
  registers: [registry],
});

/** How long each stage activity took, successful or not. */
export const stageDuration = new Histogram({
  name: 'scoreflow_stage_duration_seconds',
  help: 'Duration of one stage activity (extract, one chunk of batch-score, store, one CRM partition...)',
  labelNames: ['pipeline', 'stage', 'activity', 'outcome'] as const,
  buckets: [0.1, 0.5, 1, 2.5, 5, 15, 30, 60, 120, 300, 900, 1800, 3600, 7200],
  registers: [registry],
});

/** Every HTTP attempt at HubSpot (first tries, retries, 429s). */
export const crmCalls = new Counter({
  name: 'scoreflow_crm_calls_total',
  help: 'HTTP calls made to the CRM, retries included',
  labelNames: ['pipeline'] as const,
  registers: [registry],
});

export const crmRateLimited = new Counter({
  name: 'scoreflow_crm_rate_limited_total',
  help: 'CRM calls answered 429 (rate limited)',
  labelNames: ['pipeline'] as const,
  registers: [registry],
});

/** Times a CRM call waited for the budget every worker shares, and how long in total. */
export const crmBudgetWaits = new Counter({
  name: 'scoreflow_crm_budget_waits_total',
  help: 'Times a CRM call waited for the shared rate budget',
  labelNames: ['pipeline'] as const,
  registers: [registry],
});

export const crmBudgetWaitSeconds = new Counter({
  name: 'scoreflow_crm_budget_wait_seconds_total',
  help: 'Seconds CRM calls spent waiting for the shared rate budget',
  labelNames: ['pipeline'] as const,
  registers: [registry],
});

/** A quality gate found a run outside its pipeline's thresholds: `gateBreaches.inc({ pipeline })` where the gate decides. */
export const gateBreaches = new Counter({
  name: 'scoreflow_gate_breaches_total',
  help: 'Runs whose quality gate found a breach (the run then waits for a decision)',
  labelNames: ['pipeline'] as const,
  registers: [registry],
});

const activityPipeline = new AsyncLocalStorage<string>();

/** Runs an activity with its pipeline known to the counters it increments deep down (CRM calls, budget waits). */
export function withPipelineLabel<T>(pipeline: string, fn: () => Promise<T>): Promise<T> {
  return activityPipeline.run(pipeline, fn);
}

/** The pipeline of the activity running now, or "unknown" outside one. */
export function pipelineLabel(): string {
  return activityPipeline.getStore() ?? 'unknown';
}

/** Counts one wait for the shared CRM budget. */
export function recordBudgetWait(ms: number): void {
  crmBudgetWaits.inc({ pipeline: pipelineLabel() });
  crmBudgetWaitSeconds.inc({ pipeline: pipelineLabel() }, ms / 1000);
}
