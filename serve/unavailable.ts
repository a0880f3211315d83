import pg from 'pg';

/** A request the service cannot answer now (no published run loaded, PostgreSQL unreachable): 503 with Retry-After. */
export class ServeUnavailable extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'ServeUnavailable';
  }
}

/** Seconds a client is told to wait after a 503. */
export const RETRY_AFTER_SECONDS = 5;

const UNAVAILABLE_SQLSTATE = /^(08|53|57P)/;
const NETWORK_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
/** node-postgres' own messages for a lost or unreachable server (no SQLSTATE, no errno). */
const DRIVER_MESSAGE = /connection terminated|timeout exceeded when trying to connect|query read timeout|connection timeout|not queryable/i;

/**
 * Whether a failed PostgreSQL call means the server is away (connection refused or lost, timeouts, shutting
 * down, too many connections) rather than a bug in the statement, which stays a 500.
 */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof pg.DatabaseError) return UNAVAILABLE_SQLSTATE.test(err.code ?? '');
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_ERRNO.has(code)) return true;
  return err instanceof Error && DRIVER_MESSAGE.test(err.message);
}
