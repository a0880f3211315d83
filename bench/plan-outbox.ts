import { performance } from 'node:perf_hooks';
import { withTransaction, type Pool } from '../db/pool.js';
import { planOutbox, type OutboxPlan, type OutboxSource } from '../activities/sql/crm-outbox.js';

/** One timed plan of a CRM outbox: what it planned and how long the transaction took, commit included. */
export interface TimedPlan {
  plan: OutboxPlan;
  ms: number;
}

/**
 * Plans a run's outbox as prepareCrmSync does (planOutbox in one transaction), against a target that has
 * accepted nothing yet and without the daily quota's limit, so every published key with a valid email
 * becomes an outbox row. No CRM is called.
 */
export async function timePlanOutbox(pool: Pool, p: OutboxSource & { runId: string; target: string; partitions: number }): Promise<TimedPlan> {
  const start = performance.now();
  const plan = await withTransaction(pool, (db) => planOutbox(db, { ...p, epsilon: 0, capacity: Number.MAX_SAFE_INTEGER }));
  return { plan, ms: performance.now() - start };
}
