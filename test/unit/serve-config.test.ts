import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import { ConfigInvalid } from '../../lib/errors.js';
import { makeApiKeyCheck } from '../../serve/auth.js';
import { makeAnswerCache, type Answer } from '../../serve/cache.js';

const LONG = 'k'.repeat(24);

describe('scoreflow serve configuration', () => {
  it('has defaults: port 8080 on 127.0.0.1, 100,000 cached answers, 1,000 requests per key per second, no keys', () => {
    expect(loadConfig({}).serve).toMatchObject({
      port: 8080, host: '127.0.0.1', cache: { maxEntries: 100_000 }, rateLimitPerSecond: 1000, liveTtlSeconds: 60, poolSize: 10, pollSeconds: 5, apiKeysSource: 'none',
    });
    expect(loadConfig({}).serve.apiKeys.size).toBe(0);
  });

  it('reads name:key pairs and bare keys from the variable and the file, skipping blank lines and comments', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'scoreflow-keys-')), 'keys');
    fs.writeFileSync(file, `# the mobile app\nmobile:${LONG}m\n\n${LONG}f\n`);
    const serve = loadConfig({ SCOREFLOW_SERVE_API_KEYS: `web:${LONG}w, ${LONG}b`, SCOREFLOW_SERVE_API_KEYS_FILE: file }).serve;
    expect([...serve.apiKeys]).toEqual([[`${LONG}w`, 'web'], [`${LONG}b`, 'key-2'], [`${LONG}m`, 'mobile'], [`${LONG}f`, 'key-4']]);
    expect(serve.apiKeysSource).toBe(`SCOREFLOW_SERVE_API_KEYS and the file ${file} (SCOREFLOW_SERVE_API_KEYS_FILE)`);
  });

  it('refuses a short key without printing it, and a keys file it cannot read', () => {
    let err: unknown;
    try {
      loadConfig({ SCOREFLOW_SERVE_API_KEYS: 'web:secret123' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigInvalid);
    expect((err as Error).message).toContain('API key "web" is shorter than 16 characters');
    expect((err as Error).message).not.toContain('secret123');
    expect(() => loadConfig({ SCOREFLOW_SERVE_API_KEYS_FILE: '/nonexistent/keys' })).toThrow(/SCOREFLOW_SERVE_API_KEYS_FILE \/nonexistent\/keys cannot be read/);
  });

  it('bounds the cache in MiB when SCOREFLOW_SERVE_CACHE_MIB is set', () => {
    expect(loadConfig({ SCOREFLOW_SERVE_CACHE_MIB: '64' }).serve.cache).toEqual({ maxEntries: 100_000, maxMiB: 64 });
    expect(() => loadConfig({ SCOREFLOW_SERVE_RATE_LIMIT: '-1' })).toThrow(/SCOREFLOW_SERVE_RATE_LIMIT/);
  });
});

describe('the service\'s API key check and answer cache', () => {
  it('accepts only "Bearer <a configured key>" and names the key', () => {
    const check = makeApiKeyCheck(new Map([[LONG, 'web']]));
    expect(check(`Bearer ${LONG}`)).toBe('web');
    expect(check(`bearer ${LONG}`)).toBe('web');
    expect(check(undefined)).toBeUndefined();
    expect(check(LONG)).toBeUndefined();
    expect(check(`Bearer ${LONG}x`)).toBeUndefined();
    expect(check(`Basic ${LONG}`)).toBeUndefined();
  });

  it('keeps answers per run, evicting the least recently used beyond its bound in entries or MiB', () => {
    const answer: Answer = { source: 'batch', generatedAt: '2026-11-26T00:00:00.000Z', items: [{ productId: '1', name: 'Classic Coffee 1', score: 1 }] };
    const byEntries = makeAnswerCache({ maxEntries: 2 });
    byEntries.set('run-a', '1', answer);
    expect(byEntries.get('run-b', '1')).toBeUndefined();
    byEntries.set('run-a', '2', answer);
    byEntries.get('run-a', '1');
    byEntries.set('run-a', '3', answer);
    expect([byEntries.get('run-a', '1'), byEntries.get('run-a', '2'), byEntries.get('run-a', '3')].map(Boolean)).toEqual([true, false, true]);
    const byMiB = makeAnswerCache({ maxEntries: 1_000_000, maxMiB: 0.01 });
    for (let i = 0; i < 1000; i++) byMiB.set('run-a', String(i), answer);
    expect(byMiB.size()).toBeGreaterThan(10);
    expect(byMiB.size()).toBeLessThan(100);
  });
});
