import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { SANDBOX_TOKEN } from '../../sandbox/server.js';
import type { Harness } from './harness.js';

const CLI = path.join(PROJECT_ROOT, 'dist', 'workers', 'cli.js');
const run = promisify(execFile);

/** Runs the built CLI (`npm test` builds first) with only `env` and returns its exit code and output. */
export async function scoreflow(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', [CLI, ...args], { env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/root', ...env }, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The environment that points the CLI at a harness's database, Temporal and its own HubSpot sandbox. */
export function cliEnv(h: Harness): Record<string, string> {
  return {
    DATABASE_URL: h.config.database.url!,
    TEMPORAL_ADDRESS: h.rt.temporal!.address,
    TEMPORAL_NAMESPACE: h.config.temporal.namespace,
    SCOREFLOW_TASK_QUEUE: `${h.config.temporal.taskQueue}-cli`,
    HUBSPOT_BASE_URL: h.sandbox.url,
    HUBSPOT_ACCESS_TOKEN: SANDBOX_TOKEN,
  };
}
