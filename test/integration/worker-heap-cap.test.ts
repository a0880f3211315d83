import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { SANDBOX_TOKEN } from '../../sandbox/server.js';
import { activityPollerPids } from '../../workers/activity-pollers.js';
import { makeHarness, type Harness } from '../support/harness.js';

const CLI = path.join(PROJECT_ROOT, 'dist', 'workers', 'cli.js');
let h: Harness | undefined;
let launcher: ChildProcess | undefined;
let inner: number | undefined;
afterEach(async () => {
  launcher?.kill('SIGKILL');
  if (inner && fs.existsSync(`/proc/${inner}`)) process.kill(inner, 'SIGKILL');
  await h?.close();
  h = launcher = inner = undefined;
});

const alive = (pid: number) => fs.existsSync(`/proc/${pid}`) && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');

/** The pid of the process polling `taskQueue` for activities. */
async function pollingPid(h: Harness, taskQueue: string): Promise<number> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
    const [pid] = await activityPollerPids(h.rt, taskQueue);
    if (pid) return pid;
  }
  throw new Error(`nothing polled ${taskQueue}`);
}

describe('scoreflow worker', () => {
  it('runs with its V8 heap cap, and its relaunched process dies with the launcher as a crash would', async () => {
    h = await makeHarness({}, { worker: false });
    launcher = spawn('node', [CLI, 'worker'], {
      env: {
        PATH: process.env['PATH'], HOME: process.env['HOME'], LOG_LEVEL: 'warn', DATABASE_URL: h.config.database.url,
        TEMPORAL_ADDRESS: h.rt.temporal!.address, TEMPORAL_NAMESPACE: h.config.temporal.namespace, SCOREFLOW_TASK_QUEUE: h.config.temporal.taskQueue,
        HUBSPOT_BASE_URL: h.sandbox.url, HUBSPOT_ACCESS_TOKEN: SANDBOX_TOKEN, SCOREFLOW_WORKER_HEAP_MB: '200',
      },
      stdio: 'ignore',
    });
    inner = await pollingPid(h, h.config.temporal.taskQueue);

    expect(inner).not.toBe(launcher.pid);
    expect(fs.readFileSync(`/proc/${inner}/cmdline`, 'utf8').split('\0')).toContain('--max-old-space-size=200');
    launcher.kill('SIGKILL');
    const deadline = Date.now() + 5000;
    while (alive(inner) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(alive(inner)).toBe(false);
  });
});
