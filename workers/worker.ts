import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createScoringActivities } from '../activities/index.js';
import { TypedErrorsInterceptor } from '../activities/typed-errors-interceptor.js';
import type { Pool } from '../db/pool.js';
import type { Config } from '../lib/config.js';
import type { Logger } from '../lib/logger.js';
import { sourceOrBuilt } from '../lib/paths.js';
import { makeModelCache } from '../models/model-cache.js';
import { parseLeadsTable } from '../source/leads-table.js';

/** Builds a worker for the scoring task queue: the workflows bundle plus activities bound to `pool`. */
export async function createScoringWorker(p: {
  config: Config;
  pool: Pool;
  log: Logger;
  address: string;
  workflowBundle?: WorkerOptions['workflowBundle'];
}): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection = await NativeConnection.connect({ address: p.address });
  const activities = createScoringActivities({
    pool: p.pool,
    log: p.log,
    model: makeModelCache(p.config.model.dir),
    leadsTable: parseLeadsTable(p.config.source.leadsTable),
    chunkSize: p.config.scoring.chunkSize,
    lookbackHours: p.config.scoring.lookbackHours,
  });
  const worker = await Worker.create({
    connection,
    namespace: p.config.temporal.namespace,
    taskQueue: p.config.temporal.taskQueue,
    ...(p.workflowBundle ? { workflowBundle: p.workflowBundle } : { workflowsPath: sourceOrBuilt('workflows/index.ts') }),
    activities,
    maxConcurrentActivityTaskExecutions: p.config.scoring.concurrency + 2,
    interceptors: { activity: [() => ({ inbound: new TypedErrorsInterceptor() })] },
  });
  return { worker, connection };
}
