import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createScoringActivities, type ActivityDeps } from '../activities/index.js';
import { TypedErrorsInterceptor } from '../activities/typed-errors-interceptor.js';
import type { Pool } from '../db/pool.js';
import type { CrmEndpoint } from '../activities/crm/target.js';
import type { Config } from '../lib/config.js';
import type { Logger } from '../lib/logger.js';
import { sourceOrBuilt } from '../lib/paths.js';
import { makeModelSource } from '../models/model-source.js';
import { makeModelStore } from '../activities/sql/model-store.js';
import { parseLeadsTable } from '../source/leads-table.js';

/** Builds a worker for the scoring task queue: the workflows bundle plus activities bound to `pool`. */
export async function createScoringWorker(p: {
  config: Config;
  pool: Pool;
  log: Logger;
  address: string;
  crm: CrmEndpoint | undefined;
  workflowBundle?: WorkerOptions['workflowBundle'];
}): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection = await NativeConnection.connect({ address: p.address });
  const activities = createScoringActivities(activityDeps(p));
  const worker = await Worker.create({
    connection,
    namespace: p.config.temporal.namespace,
    taskQueue: p.config.temporal.taskQueue,
    ...(p.workflowBundle ? { workflowBundle: p.workflowBundle } : { workflowsPath: sourceOrBuilt('workflows/index.ts') }),
    activities,
    maxConcurrentActivityTaskExecutions: Math.max(p.config.scoring.concurrency, p.config.crm.concurrency) + 2,
    // Heartbeats carry cancellation back to activities: sent every second, a cancel stops them within seconds.
    maxHeartbeatThrottleInterval: '1 second',
    interceptors: { activity: [() => ({ inbound: new TypedErrorsInterceptor() })] },
  });
  return { worker, connection };
}

/** The activities' dependencies from configuration: one place, shared by workers and tests. */
export function activityDeps(p: { config: Config; pool: Pool; log: Logger; crm: CrmEndpoint | undefined }): ActivityDeps {
  return {
    pool: p.pool,
    log: p.log,
    model: makeModelSource({ modelDir: p.config.model.dir, store: makeModelStore(p.pool) }),
    leadsTable: parseLeadsTable(p.config.source.leadsTable),
    chunkSize: p.config.scoring.chunkSize,
    lookbackHours: p.config.scoring.lookbackHours,
    retentionDays: p.config.retention.days,
    crm: {
      connection: p.crm,
      // 250 ms more than HubSpot's ten seconds absorbs the spread of request latencies between workers.
      budget: { perWindow: p.config.crm.ratePer10s, windowMs: 10_250, perDay: p.config.crm.dailyLimit },
      epsilon: p.config.crm.epsilon,
      partitions: p.config.crm.concurrency,
      verifySample: p.config.crm.verifySample,
      syncMode: p.config.crm.syncMode,
    },
  };
}
