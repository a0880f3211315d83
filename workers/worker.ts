import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createScoringActivities, type ActivityDeps } from '../activities/index.js';
import { MetricsInterceptor } from '../activities/metrics-interceptor.js';
import { TypedErrorsInterceptor } from '../activities/typed-errors-interceptor.js';
import type { Pool } from '../db/pool.js';
import type { CrmEndpoint } from '../activities/crm/target.js';
import type { Config } from '../lib/config.js';
import type { Logger } from '../lib/logger.js';
import { sourceOrBuilt } from '../lib/paths.js';
import { makeModelSource, type ModelSource } from '../models/model-source.js';
import { makeModelStore } from '../activities/sql/model-store.js';
import { makeRecsModelSource, type RecsModelSource } from '../models/recs-model.js';
import { makePipelineRegistry, type PipelineRegistry } from '../pipelines/index.js';
import { ensureSearchAttributes } from './search-attributes.js';

/** Builds a worker for the scoring task queue: the workflows bundle plus activities bound to `pool`. */
export async function createScoringWorker(p: {
  config: Config;
  pool: Pool;
  log: Logger;
  address: string;
  crm: CrmEndpoint | undefined;
  /** The pipelines it runs; default: the configured ones (lead scoring). */
  pipelines?: PipelineRegistry;
  workflowBundle?: WorkerOptions['workflowBundle'];
}): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection = await NativeConnection.connect({ address: p.address });
  await ensureSearchAttributes(connection, p.config.temporal.namespace, p.log).catch(async (err: unknown) => {
    await connection.close();
    throw err;
  });
  const deps = activityDeps(p);
  const activities = createScoringActivities(deps);
  const scoringConcurrency = Math.max(...deps.pipelines.all().map((d) => d.sizing.concurrency));
  const worker = await Worker.create({
    connection,
    namespace: p.config.temporal.namespace,
    taskQueue: p.config.temporal.taskQueue,
    ...(p.workflowBundle ? { workflowBundle: p.workflowBundle } : { workflowsPath: sourceOrBuilt('workflows/index.ts') }),
    activities,
    maxConcurrentActivityTaskExecutions: Math.max(scoringConcurrency, p.config.crm.concurrency) + 2,
    // Heartbeats carry cancellation back to activities: sent every second, a cancel stops them within seconds.
    maxHeartbeatThrottleInterval: '1 second',
    interceptors: { activity: [(ctx) => ({ inbound: new MetricsInterceptor(ctx) }), () => ({ inbound: new TypedErrorsInterceptor() })] },
  });
  return { worker, connection };
}

/** The activities' dependencies from configuration: one place, shared by workers and tests. */
export function activityDeps(p: { config: Config; pool: Pool; log: Logger; crm: CrmEndpoint | undefined; pipelines?: PipelineRegistry }): ActivityDeps {
  const store = makeModelStore(p.pool);
  // One model source per directory, so pipelines sharing a model share its onnxruntime sessions.
  const sources = new Map<string, ModelSource>();
  const recsSources = new Map<string, RecsModelSource>();
  return {
    pool: p.pool,
    log: p.log,
    pipelines: p.pipelines ?? makePipelineRegistry(p.config),
    modelSource(modelDir) {
      let source = sources.get(modelDir);
      if (!source) sources.set(modelDir, (source = makeModelSource({ modelDir, store, threads: p.config.scoring.modelThreads })));
      return source;
    },
    recsModelSource(modelDir) {
      let source = recsSources.get(modelDir);
      if (!source) recsSources.set(modelDir, (source = makeRecsModelSource({ modelDir, store })));
      return source;
    },
    recsKeepRuns: p.config.recs.keepRuns,
    lookbackHours: p.config.scoring.lookbackHours,
    retentionDays: p.config.retention.days,
    gates: p.config.gates,
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
