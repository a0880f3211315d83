import { createScoringWorker } from './worker.js';
import type { Runtime } from './runtime.js';

/**
 * Starts a worker in this process for the length of a command, so `scoreflow run` works with nothing
 * else running. Other workers on the task queue simply share the work. (Asking Temporal whether a
 * worker polls is not enough: a worker that exited a moment ago is still listed for a minute.)
 * Returns the function that drains and stops it.
 */
async function startLocalWorker(rt: Runtime): Promise<() => Promise<void>> {
  const { worker, connection } = await createScoringWorker({ config: rt.config, pool: rt.pool, log: rt.log, address: rt.temporal!.address, crm: rt.crm, pipelines: rt.pipelines });
  const running = worker.run();
  return async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
    await connection.close();
  };
}

/** Runs `fn` with a local worker polling (when `enabled`), always stopping the worker afterwards. */
export async function withLocalWorker<T>(rt: Runtime, enabled: boolean, fn: () => Promise<T>): Promise<T> {
  const stop = enabled ? await startLocalWorker(rt) : async () => {};
  try {
    return await fn();
  } finally {
    await stop();
  }
}
