import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { freePort } from '../support/free-port.js';
import { makeHarness, type Harness } from '../support/harness.js';

const CLI = path.join(PROJECT_ROOT, 'dist', 'workers', 'cli.js');

let h: Harness;
beforeAll(async () => {
  h = await makeHarness();
});
afterAll(async () => {
  await h?.close();
});

/** Starts `scoreflow dev`, returns what it printed up to "Ctrl-C to stop.", then stops it with SIGINT. */
async function devBanner(env: Record<string, string>): Promise<string> {
  const child = spawn('node', [CLI, 'dev'], { env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/root', LOG_LEVEL: 'warn', ...env } });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  try {
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('Ctrl-C to stop.')) resolve();
      });
      void exited.then((code) => reject(new Error(`scoreflow dev exited (${code}) before it was up:\n${stderr}`)));
    });
  } finally {
    child.kill('SIGINT');
    await exited;
  }
  return stderr;
}

describe('scoreflow dev', () => {
  it('shows the database it uses without its password', async () => {
    const url = h.config.database.url!;
    const password = new URL(url).password;
    expect(password).not.toBe('');
    const banner = await devBanner({
      DATABASE_URL: url,
      TEMPORAL_ADDRESS: h.rt.temporal!.address,
      TEMPORAL_NAMESPACE: h.config.temporal.namespace,
      SCOREFLOW_TASK_QUEUE: `${h.config.temporal.taskQueue}-dev`,
      SCOREFLOW_SANDBOX_PORT: String(await freePort()),
    });
    const line = banner.split('\n').find((l) => l.trim().startsWith('PostgreSQL'));
    expect(line).toContain(`${new URL(url).username}:***@`);
    expect(banner).not.toContain(`:${password}@`);
  });
});
