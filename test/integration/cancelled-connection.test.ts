import { afterEach, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { withCancellableTransaction } from '../../activities/cancellation.js';
import type { PoolClient } from '../../db/pool.js';
import { makeHarness, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const backendPid = (client: PoolClient) => (client as PoolClient & { processID: number }).processID;

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('a transaction cancelled with its activity', () => {
  it('closes its connection instead of pooling it, so its cancel cannot stop the statement of whoever reuses it', async () => {
    h = await makeHarness({}, { worker: false });
    const { pool } = h.rt;
    const running = (pid: number) => h!.query<{ n: number }>("select count(*)::int as n from pg_stat_activity where pid = $1 and query like 'select pg_sleep%'", [pid]);
    const connected = (pid: number) => h!.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where pid = $1', [pid]);

    const env = new MockActivityEnvironment();
    let pid = 0;
    const cancelled = env.run(() => withCancellableTransaction(pool, async (client) => {
      pid = backendPid(client);
      await client.query('select pg_sleep(30)');
    }));
    await until(async () => pid > 0 && (await running(pid))[0]!.n === 1, 'the statement runs');
    env.cancel();
    await expect(cancelled).rejects.toMatchObject({ name: 'CancelledFailure' });

    // The cancelled transaction's backend goes away with its connection; a pooled one would stay, idle.
    await until(async () => (await connected(pid))[0]!.n === 0, `backend ${pid} has exited`);
    const next = await new MockActivityEnvironment().run(() => withCancellableTransaction(pool, async (client) => {
      await client.query('select pg_sleep(0.2)');
      return backendPid(client);
    }));
    expect(next).not.toBe(pid);
  });

  it('keeps pooling a connection whose transaction was never cancelled', async () => {
    h = await makeHarness({}, { worker: false });
    const { pool } = h.rt;
    const pidOf = () => new MockActivityEnvironment().run(() => withCancellableTransaction(pool, async (client) => backendPid(client)));
    const first = await pidOf();
    expect(await pidOf()).toBe(first);
  });
});
