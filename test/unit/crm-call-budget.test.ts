import { describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/common';
import { callWithBudget, type BudgetedCaller } from '../../activities/crm/hubspot.js';

/** A caller whose budget grants every slot at once and counts how many were taken. */
function caller(): BudgetedCaller & { slots: number } {
  const c = {
    slots: 0,
    conn: { baseUrl: 'http://hubspot.test', token: 't', tokenSource: 'HUBSPOT_ACCESS_TOKEN' },
    counters: { calls: 0, rateLimited: 0 },
    takeCall: async () => { c.slots++; },
  };
  return c;
}

/** An api-client call that answers with these statuses in turn (an ApiException-like error for >= 300). */
function answers(...replies: Array<{ code: number; body?: unknown; headers?: Record<string, string> }>) {
  let i = 0;
  return async () => {
    const r = replies[Math.min(i++, replies.length - 1)]!;
    if (r.code < 300) return { httpStatusCode: r.code, data: r.body };
    throw Object.assign(new Error(`HTTP ${r.code}`), r);
  };
}

describe('one logical HubSpot call through the shared budget', () => {
  it('takes a slot and counts a call for every HTTP attempt: the first try, each 5xx retry and each 429 retry', async () => {
    const c = caller();
    const outcome = await callWithBudget(c, answers({ code: 503 }, { code: 429, headers: { 'x-hubspot-ratelimit-interval-milliseconds': '10' } }, { code: 502 }, { code: 200, body: { ok: true } }));
    expect(outcome).toEqual({ kind: 'ok', status: 200, body: { ok: true } });
    expect(c.slots).toBe(4);
    expect(c.counters).toEqual({ calls: 4, rateLimited: 1 });
  });

  it('returns a 422 or a 404 naming record ids as a rejection after one attempt, never retried as an outage', async () => {
    const c = caller();
    const rejected = await callWithBudget(c, answers({ code: 422, body: { category: 'VALIDATION_ERROR', message: 'unprocessable' } }));
    expect(rejected).toMatchObject({ kind: 'rejected', status: 422, category: 'VALIDATION_ERROR', message: 'unprocessable' });
    const notFound = await callWithBudget(c, answers({ code: 404, body: { category: 'OBJECT_NOT_FOUND', message: 'not found', context: { ids: ['a@b.c'] } } }));
    expect(notFound).toMatchObject({ kind: 'rejected', status: 404, context: { ids: ['a@b.c'] } });
    expect(c.counters.calls).toBe(2);
  });

  it('throws CrmEndpointNotFound, non-retryable, for a 404 that names no records, after one attempt', async () => {
    const c = caller();
    const err = await callWithBudget(c, answers({ code: 404, body: { category: 'OBJECT_NOT_FOUND', message: 'No such path' } })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err).toMatchObject({ type: 'CrmEndpointNotFound', nonRetryable: true });
    expect(c.counters.calls).toBe(1);
  });
});
