import { Client } from '@hubspot/api-client';
import pRetry, { AbortError } from 'p-retry';
import { CrmAuthInvalid, CrmScopeMissing, CrmUnavailable } from '../../lib/errors.js';
import { DailyQuotaExhausted } from '../sql/crm-budget.js';

/** Where the CRM is and how to authenticate; `tokenSource` names the token's origin for messages. */
export interface CrmConnection {
  baseUrl: string;
  token: string;
  tokenSource: string;
}

/** A HubSpot client with its own retries and limiter off: scoreflow's shared budget and retries apply. */
export function makeHubspotClient(c: CrmConnection): Client {
  return new Client({ accessToken: c.token, basePath: c.baseUrl, numberOfApiCallRetries: 0 });
}

interface HubspotError {
  code?: number;
  body?: { message?: string; category?: string; policyName?: string; errors?: Array<{ context?: { requiredGranularScopes?: string[] } }> };
  headers?: Record<string, string>;
}

/** Outcome of one HubSpot call that did not throw a typed error. */
export type CallOutcome<T> =
  | { kind: 'ok'; status: number; body: T }
  | { kind: 'rejected'; status: number; message: string }
  | { kind: 'rate-limited'; waitMs: number; daily: boolean };

/**
 * Makes one HubSpot call and sorts the answer: 401/403 become typed non-retryable errors; 429 says how
 * long to wait; 400/409 is a rejection to handle; 5xx and network faults are retried here with backoff
 * and, if they persist, raised as CrmUnavailable. Response bodies never reach error messages (they can
 * hold emails) except HubSpot's own message of a rejection, which stays in PostgreSQL.
 */
export async function callHubspot<T>(conn: CrmConnection, call: () => Promise<{ httpStatusCode: number; data: T }>): Promise<CallOutcome<T>> {
  return pRetry(
    async () => {
      try {
        const res = await call();
        return { kind: 'ok' as const, status: res.httpStatusCode, body: res.data };
      } catch (err) {
        const e = err as HubspotError;
        if (e.code === 401) throw new AbortError(new CrmAuthInvalid(conn.tokenSource));
        if (e.code === 403) {
          const scopes = e.body?.errors?.flatMap((x) => x.context?.requiredGranularScopes ?? []) ?? [];
          throw new AbortError(new CrmScopeMissing(scopes, conn.tokenSource));
        }
        if (e.code === 429) {
          const retryAfter = Number(e.headers?.['retry-after']);
          const interval = Number(e.headers?.['x-hubspot-ratelimit-interval-milliseconds']);
          const waitMs = retryAfter > 0 ? retryAfter * 1000 : interval > 0 ? Math.min(interval, 1000) : 1000;
          return { kind: 'rate-limited' as const, waitMs, daily: e.body?.policyName === 'DAILY' };
        }
        if (e.code === 400 || e.code === 409) {
          return { kind: 'rejected' as const, status: e.code, message: e.body?.message ?? `HTTP ${e.code}` };
        }
        throw new CrmUnavailable(e.code ? `HTTP ${e.code} from ${conn.baseUrl}` : `${(err as Error).message} (${conn.baseUrl})`);
      }
    },
    { retries: 4, minTimeout: 200, maxTimeout: 5000, randomize: true },
  );
}

/** Waits for the shared budget, then calls; counts calls and 429s on `counters`. */
export interface BudgetedCaller {
  conn: CrmConnection;
  takeCall(): Promise<void>;
  counters: { calls: number; rateLimited: number };
}

/**
 * One logical HubSpot request through the shared budget: a 429 waits as HubSpot's headers say and
 * tries again (a DAILY 429 throws DailyQuotaExhausted). Returns the answer or a rejection.
 */
export async function callWithBudget<T>(
  caller: BudgetedCaller,
  call: () => Promise<{ httpStatusCode: number; data: T }>,
): Promise<Exclude<CallOutcome<T>, { kind: 'rate-limited' }>> {
  for (;;) {
    await caller.takeCall();
    caller.counters.calls++;
    const outcome = await callHubspot(caller.conn, call);
    if (outcome.kind !== 'rate-limited') return outcome;
    caller.counters.rateLimited++;
    if (outcome.daily) throw new DailyQuotaExhausted();
    await new Promise((r) => setTimeout(r, outcome.waitMs));
  }
}
