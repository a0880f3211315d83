import { afterEach, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { withCancellableTransaction } from '../../activities/cancellation.js';
import { backendPid } from '../../db/pool.js';
import { makeHarness, waitForQuery, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('a transaction cancelled with its activity', () => {
  it('closes its connection instead of pooling it, so its cancel cannot stop the statement of whoever reuses it', async () => {
    h = await makeHarness({}, { worker: false });
    const { pool } = h.rt;

    const env = new MockActivityEnvironment();
    let pid = 0;
    const cancelled = env.run(() => withCancellableTransaction(pool, async (client) => {
      pid = backendPid(client);
      await client.query('select pg_sleep(30)');
    }));
    await waitForQuery(h, "select exists (select 1 from pg_stat_activity where datname = current_database() and query = 'select pg_sleep(30)' and state = 'active') as ok", 10_000);
    expect(pid).toBeGreaterThan(0);
    env.cancel();
    await expect(cancelled).rejects.toMatchObject({ name: 'CancelledFailure' });

    // The cancelled transaction's backend goes away with its connection; a pooled one would stay, idle.
    await waitForQuery(h, `select not exists (select 1 from pg_stat_activity where pid = ${pid}) as ok`, 10_000);
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
