import type { Worker } from '@temporalio/worker';
import { createScoringWorker } from './worker.js';
import type { Runtime } from './runtime.js';

/** True when some worker polls the task queue right now (pollers seen in the last minute). */
export async function workerIsPolling(rt: Runtime): Promise<boolean> {
  const t = rt.temporal!;
  const res = await t.connection.workflowService.describeTaskQueue({
    namespace: t.namespace,
    taskQueue: { name: rt.config.temporal.taskQueue },
    taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
  });
  return (res.pollers ?? []).length > 0;
}

/**
 * Makes sure the run will be picked up: when no worker polls the task queue, starts one in this process
 * and returns a function that stops it (a no-op when another worker was already there).
 */
export async function ensureWorker(rt: Runtime): Promise<() => Promise<void>> {
  if (await workerIsPolling(rt)) return async () => {};
  rt.log.info({ taskQueue: rt.config.temporal.taskQueue }, 'no worker is polling; starting one in this process');
  const { worker, connection } = await createScoringWorker({ config: rt.config, pool: rt.pool, log: rt.log, address: rt.temporal!.address });
  const running = worker.run();
  return async () => {
    stopWorker(worker);
    await running;
    await connection.close();
  };
}

function stopWorker(worker: Worker): void {
  if (worker.getState() === 'RUNNING') worker.shutdown();
}
