import { describe, expect, it } from 'vitest';
import { makeRateLimiter } from '../../sandbox/rate-limit.js';
import { loadHubSpotContract } from '../support/hubspot-contract.js';

describe('the sandbox rate limiter', () => {
  it('refuses the request over the ten-second budget and serves again once the oldest request leaves the window', () => {
    let now = Date.parse('2025-01-01T12:00:00Z');
    const limiter = makeRateLimiter({ perTenSeconds: 3, perDay: 100 }, () => now);
    for (let i = 0; i < 3; i++) {
      expect(limiter.take('t').limitedBy).toBeUndefined();
      now += 1000;
    }
    const refused = limiter.take('t');
    expect(refused.limitedBy).toBe('TEN_SECONDLY_ROLLING');
    expect(refused.headers['Retry-After']).toBe('7');
    expect(limiter.take('other-token').limitedBy).toBeUndefined();
    now = Date.parse('2025-01-01T12:00:10Z');
    expect(limiter.take('t').limitedBy).toBeUndefined();
    expect(limiter.take('t').limitedBy).toBe('TEN_SECONDLY_ROLLING');
  });

  it('refuses the request over the daily quota until midnight UTC', () => {
    let now = Date.parse('2025-01-01T23:59:00Z');
    const limiter = makeRateLimiter({ perTenSeconds: 100, perDay: 2 }, () => now);
    limiter.take('t');
    limiter.take('t');
    const refused = limiter.take('t');
    expect(refused.limitedBy).toBe('DAILY');
    expect(refused.retryAfterSeconds).toBe(60);
    expect(refused.headers['X-HubSpot-RateLimit-Daily-Remaining']).toBe('0');
    now = Date.parse('2025-01-02T00:00:01Z');
    expect(limiter.take('t')).toMatchObject({ headers: { 'X-HubSpot-RateLimit-Daily-Remaining': '1' } });
  });
});

describe('the HubSpot contract check used by the sandbox tests', () => {
  it('finds bodies HubSpot’s spec does not allow, success and error alike', async () => {
    const contract = await loadHubSpotContract();
    const upsert = 'post-/crm/v3/objects/contacts/batch/upsert_upsert';
    const result = { id: '1', properties: { email: 'a@b.co' }, createdAt: '2025-01-01T00:00:00.000Z', updatedAt: '2025-01-01T00:00:00.000Z', archived: false, new: true };
    const batch = { status: 'COMPLETE', results: [result], startedAt: '2025-01-01T00:00:00.000Z', completedAt: '2025-01-01T00:00:00.000Z' };
    expect(contract.problems(upsert, 200, batch)).toEqual([]);
    expect(contract.problems(upsert, 200, { ...batch, results: [{ ...result, new: undefined }] })).not.toEqual([]);
    expect(contract.problems(upsert, 200, { ...batch, results: [{ ...result, properties: { score: 3 } }] })).not.toEqual([]);
    expect(contract.problems(upsert, 200, { ...batch, completedAt: 'yesterday' })).not.toEqual([]);
    expect(contract.problems(upsert, 400, { status: 'error', message: 'x', correlationId: 'aeb5f871-7f07-4993-9211-075dc63e7cbf', category: 'VALIDATION_ERROR' })).toEqual([]);
    expect(contract.problems(upsert, 400, { status: 'error', message: 'x' })).not.toEqual([]);
    expect(contract.problems(upsert, 400, { status: 'error', message: 'x', correlationId: 'nope', category: 'VALIDATION_ERROR' })).not.toEqual([]);
    expect(contract.problems(upsert, 207, { ...batch, errors: [{ status: 'error', message: 'x', category: 'C' }] })).not.toEqual([]);
  });
});
