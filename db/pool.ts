import pg from 'pg';
import type { Logger } from '../lib/logger.js';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

/** The process id of the PostgreSQL backend serving `client` (what pg_cancel_backend and pg_stat_activity name). */
export function backendPid(client: pg.PoolClient): number {
  return (client as pg.PoolClient & { processID: number }).processID;
}

/**
 * The one connection pool of a process. Idle-client errors (a restarted server) are logged, not fatal.
 * `timeouts` shortens the waits of a latency-bound reader (the recommendations service): connecting and each query.
 */
export function makePool(connectionString: string, log: Logger, max = 10, timeouts: { connectMs?: number; queryMs?: number } = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString, max, connectionTimeoutMillis: timeouts.connectMs ?? 10_000,
    ...(timeouts.queryMs ? { query_timeout: timeouts.queryMs } : {}) });
  pool.on('error', (err) => log.warn({ err: err.message }, 'idle PostgreSQL client failed; it will be replaced'));
  return pool;
}

/** How a client leaves `withClient`: `discard` (asked once `fn` is done) closes its connection instead of pooling it. */
export interface ClientRelease {
  discard?: () => boolean;
}

/**
 * Checks a client out of the pool for `fn`. While it is checked out, a dropped connection (a restarted
 * server) must not become an uncaught 'error' event that kills the worker: the next query fails instead,
 * and the activity is retried.
 */
export async function withClient<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>, release: ClientRelease = {}): Promise<T> {
  const client = await pool.connect();
  const ignore = () => {};
  client.on('error', ignore);
  try {
    return await fn(client);
  } finally {
    client.removeListener('error', ignore);
    client.release(release.discard?.() === true);
  }
}

/** Runs `fn` in a transaction on one client, committing on success and rolling back on any error. */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>, release: ClientRelease = {}): Promise<T> {
  return withClient(pool, async (client) => {
    try {
      await client.query('begin');
      const result = await fn(client);
      await client.query('commit');
      return result;
    } catch (err) {
      await client.query('rollback').catch(() => {});
      throw err;
    }
  }, release);
}
