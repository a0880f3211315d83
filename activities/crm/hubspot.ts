import { Client } from '@hubspot/api-client';
import { CrmAuthInvalid, CrmEndpointNotFound, CrmScopeMissing, CrmUnavailable } from '../../lib/errors.js';
import { crmCalls, crmRateLimited, pipelineLabel } from '../../lib/metrics.js';
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

/** One entry of HubSpot's `errors[]` (the spec's ErrorDetail, or a 207's StandardError). */
export interface HubspotErrorDetail {
  message?: string;
  code?: string;
  category?: string;
  context?: Record<string, string[]>;
}

interface HubspotError {
  code?: number | string;
  body?: { message?: string; category?: string; policyName?: string; context?: Record<string, string[]>; errors?: Array<HubspotErrorDetail & { context?: { requiredGranularScopes?: string[] } }> };
  headers?: Record<string, string>;
}

/** HubSpot refused a request (4xx other than 401/403/429): its status, `category`, message and details. */
export interface Rejection {
  kind: 'rejected';
  status: number;
  category: string | undefined;
  message: string;
  errors: HubspotErrorDetail[];
  context: Record<string, string[]>;
}

/** Outcome of one HubSpot HTTP attempt that did not throw a typed error. */
export type CallOutcome<T> =
  | { kind: 'ok'; status: number; body: T }
  | Rejection
  | { kind: 'rate-limited'; waitMs: number; daily: boolean }
  | { kind: 'unavailable'; detail: string };

/**
 * Makes exactly one HubSpot HTTP request and sorts the answer by status and `category`: 401/403 and a
 * 404 that is not about records (a wrong base URL) throw typed non-retryable errors; 429 says how long
 * to wait; other 4xx (400, 404 OBJECT_NOT_FOUND with ids, 409, 422) are rejections for the caller to
 * read, never retried as outages; 5xx, 408 and network faults are `unavailable`. Response bodies never
 * reach error messages (they can hold emails) except HubSpot's own message of a rejection.
 */
export async function callHubspot<T>(conn: CrmConnection, call: () => Promise<{ httpStatusCode: number; data: T }>): Promise<CallOutcome<T>> {
  try {
    const res = await call();
    return { kind: 'ok', status: res.httpStatusCode, body: res.data };
  } catch (err) {
    const e = err as HubspotError;
    const status = typeof e.code === 'number' ? e.code : undefined;
    if (status === undefined || status >= 500 || status === 408) {
      return { kind: 'unavailable', detail: status ? `HTTP ${status} from ${conn.baseUrl}` : `${(err as Error).message} (${conn.baseUrl})` };
    }
    if (status === 401) throw new CrmAuthInvalid(conn.tokenSource);
    if (status === 403) {
      const scopes = e.body?.errors?.flatMap((x) => x.context?.requiredGranularScopes ?? []) ?? [];
      throw new CrmScopeMissing(scopes, conn.tokenSource);
    }
    if (status === 429) {
      const retryAfter = Number(e.headers?.['retry-after']);
      const interval = Number(e.headers?.['x-hubspot-ratelimit-interval-milliseconds']);
      const waitMs = retryAfter > 0 ? retryAfter * 1000 : interval > 0 ? Math.min(interval, 1000) : 1000;
      return { kind: 'rate-limited', waitMs, daily: e.body?.policyName === 'DAILY' };
    }
    const body = typeof e.body === 'object' && e.body !== null ? e.body : {};
    if (status === 404 && !(body.category === 'OBJECT_NOT_FOUND' && body.context?.['ids']?.length)) {
      throw new CrmEndpointNotFound(conn.baseUrl, body.message ?? 'an API path');
    }
    return { kind: 'rejected', status, category: body.category, message: body.message ?? `HTTP ${status}`, errors: body.errors ?? [], context: body.context ?? {} };
  }
}

/** Waits for the shared budget, then calls; counts every HTTP attempt and 429 on `counters`. */
export interface BudgetedCaller {
  conn: CrmConnection;
  takeCall(): Promise<void>;
  counters: { calls: number; rateLimited: number };
}

/** Attempts after the first that a 5xx or network fault may take before the stage gives up for Temporal to retry. */
const UNAVAILABLE_RETRIES = 4;

/**
 * One logical HubSpot request through the shared budget. Every HTTP attempt takes a slot first and is
 * counted: the first try, each retry after a 5xx or network fault (with backoff, at most four) and each
 * retry after a 429 (waiting as HubSpot's headers say; a DAILY 429 throws DailyQuotaExhausted).
 * Returns the answer or a rejection; a persistent outage throws CrmUnavailable.
 */
export async function callWithBudget<T>(
  caller: BudgetedCaller,
  call: () => Promise<{ httpStatusCode: number; data: T }>,
): Promise<Extract<CallOutcome<T>, { kind: 'ok' | 'rejected' }>> {
  for (let failures = 0; ;) {
    await caller.takeCall();
    caller.counters.calls++;
    crmCalls.inc({ pipeline: pipelineLabel() });
    const outcome = await callHubspot(caller.conn, call);
    if (outcome.kind === 'ok' || outcome.kind === 'rejected') return outcome;
    if (outcome.kind === 'rate-limited') {
      caller.counters.rateLimited++;
      crmRateLimited.inc({ pipeline: pipelineLabel() });
      if (outcome.daily) throw new DailyQuotaExhausted();
      await sleep(outcome.waitMs);
      continue;
    }
    if (++failures > UNAVAILABLE_RETRIES) throw new CrmUnavailable(outcome.detail);
    await sleep(Math.min(5000, 200 * 2 ** (failures - 1)) * (1 + Math.random()));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
