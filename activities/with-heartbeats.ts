import { heartbeat } from '@temporalio/activity';

/**
 * Heartbeats every few seconds while `work` runs, for activities whose work is one long statement:
 * with a heartbeat timeout, a worker killed mid-statement is noticed in seconds, not at the
 * start-to-close timeout.
 */
export async function withHeartbeats<T>(work: () => Promise<T>, everyMs = 5000): Promise<T> {
  heartbeat();
  const timer = setInterval(() => heartbeat(), everyMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
