import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../lib/paths.js';
import { heapFlag } from '../workers/heap-limit.js';
import { activityPollerPids } from '../workers/activity-pollers.js';
import type { Runtime } from '../workers/runtime.js';

const CLI = path.join(PROJECT_ROOT, 'dist', 'workers', 'cli.js');

/** A `scoreflow worker` process, as production runs it, whose memory can be read from /proc. */
export interface WorkerProcess {
  pid: number;
  /** Peak resident memory of the process so far (VmHWM), in MiB. */
  peakRssMiB(): number;
  stop(): Promise<void>;
}

/** Starts `scoreflow worker` with the runtime's database, Temporal, task queue and CRM (and `env`, `nodeFlags`), and waits until it polls. */
export async function startWorkerProcess(rt: Runtime, env: NodeJS.ProcessEnv = {}, nodeFlags: string[] = []): Promise<WorkerProcess> {
  const { taskQueue } = rt.config.temporal;
  // With the heap cap on its command line, as `scoreflow worker` relaunches itself, so this is the worker's own pid.
  const heap = rt.config.worker.heapMiB > 0 ? [heapFlag(rt.config.worker.heapMiB)] : [];
  const child: ChildProcess = spawn(process.execPath, [...heap, ...nodeFlags, CLI, 'worker'], {
    env: {
      ...process.env,
      LOG_LEVEL: 'warn',
      DATABASE_URL: rt.databaseUrl,
      TEMPORAL_ADDRESS: rt.temporal!.address,
      SCOREFLOW_TASK_QUEUE: taskQueue,
      HUBSPOT_BASE_URL: rt.crm!.baseUrl,
      HUBSPOT_ACCESS_TOKEN: rt.crm!.token,
      SCOREFLOW_CRM_SYNC_MODE: rt.config.crm.syncMode,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPoller(rt, taskQueue, child);
  return {
    pid: child.pid!,
    peakRssMiB() {
      const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
      return kb / 1024;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function waitForPoller(rt: Runtime, taskQueue: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`scoreflow worker exited with code ${child.exitCode} before polling ${taskQueue}`);
    if ((await activityPollerPids(rt, taskQueue)).includes(child.pid!)) return;
    if (Date.now() > deadline) throw new Error(`no worker polled ${taskQueue} within 60 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
