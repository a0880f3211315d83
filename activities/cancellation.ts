import { Context } from '@temporalio/activity';
import { backendPid, withTransaction, type Pool, type PoolClient } from '../db/pool.js';

/** Throws the activity's cancellation (a CancelledFailure) once Temporal has delivered it. */
export function throwIfCancelled(): void {
  const signal = Context.current().cancellationSignal;
  if (signal.aborted) throw signal.reason;
}

/**
 * The activity's heartbeat and cancellation check, bound to its context now: for code that stream
 * internals run outside the activity's async context (a Readable.from generator pulled by a socket's
 * drain), where heartbeat() and throwIfCancelled() would find no activity.
 */
export function boundActivity(): { heartbeat(details?: unknown): void; throwIfCancelled(): void } {
  const context = Context.current();
  return {
    heartbeat: (details) => context.heartbeat(details),
    throwIfCancelled() {
      if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason;
    },
  };
}

/** Sleeps `ms`, or throws the activity's cancellation as soon as it arrives. */
export function cancellableSleep(ms: number): Promise<void> {
  return Context.current().sleep(ms);
}

/**
 * Runs `fn` in a transaction that the activity's cancellation rolls back at once: the statement in
 * flight is cancelled in PostgreSQL (pg_cancel_backend), nothing is committed, and the cancellation is
 * thrown instead of the statement's error. A cancelled stage leaves nothing half-written. Once a cancel
 * is sent, the connection is closed rather than pooled: the cancel goes out on another connection and
 * may land after this transaction has ended, on whatever statement the backend runs next (a retry of
 * the same chunk failed with "canceling statement due to user request" that way).
 */
export async function withCancellableTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const signal = Context.current().cancellationSignal;
  throwIfCancelled();
  let cancelSent = false;
  return withTransaction(pool, async (client) => {
    const pid = backendPid(client);
    const stopStatement = () => {
      cancelSent = true;
      void pool.query('select pg_cancel_backend($1)', [pid]).catch(() => {});
    };
    signal.addEventListener('abort', stopStatement, { once: true });
    try {
      const result = await fn(client);
      throwIfCancelled();
      return result;
    } catch (err) {
      throwIfCancelled();
      throw err;
    } finally {
      signal.removeEventListener('abort', stopStatement);
    }
  }, { discard: () => cancelSent });
}
