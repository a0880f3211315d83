import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../lib/paths.js';

const CLI = path.join(PROJECT_ROOT, 'dist', 'workers', 'cli.js');

/** A `scoreflow serve` process, as production runs it, whose memory can be read from /proc. */
export interface ServeProcess {
  url: string;
  pid: number;
  /** Resident memory now (VmRSS) and at its peak so far (VmHWM), in MiB. */
  rssMiB(): { now: number; peak: number };
  /** CPU time the process has used so far (user + system), in ms. */
  cpuMs(): number;
  stop(): Promise<number | null>;
}

const statusKiB = (pid: number, field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

/** utime + stime of /proc/<pid>/stat, in clock ticks (USER_HZ, 100 a second on Linux). */
function cpuTicks(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * Starts `node [nodeFlags] dist/workers/cli.js serve` on `databaseUrl` with one API key, no rate limit and
 * warn-level logs, and waits until /readyz answers 200 (migrations applied, published run and model loaded).
 */
export async function startServeProcess(o: { databaseUrl: string; port: number; apiKey: string; nodeFlags?: string[]; cwd?: string }): Promise<ServeProcess> {
  const child: ChildProcess = spawn(process.execPath, [...(o.nodeFlags ?? []), CLI, 'serve'], {
    cwd: o.cwd ?? PROJECT_ROOT,
    env: {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      DATABASE_URL: o.databaseUrl,
      SCOREFLOW_SERVE_PORT: String(o.port),
      SCOREFLOW_SERVE_API_KEYS: `bench:${o.apiKey}`,
      SCOREFLOW_SERVE_RATE_LIMIT: '0',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${o.port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`scoreflow serve exited with code ${child.exitCode} before it was ready`);
    const ready = await fetch(`${url}/readyz`).then((r) => r.status === 200, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`scoreflow serve was not ready within 120 s (${url}/readyz)`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const pid = child.pid!;
  return {
    url, pid,
    rssMiB: () => ({ now: statusKiB(pid, 'VmRSS') / 1024, peak: statusKiB(pid, 'VmHWM') / 1024 }),
    cpuMs: () => cpuTicks(pid) * 10,
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
