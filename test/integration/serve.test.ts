import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OpenAPIBackend, type Document } from 'openapi-backend';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECS_PUBLISHED_CHANNEL } from '../../activities/sql/publish-recs.js';
import { loadConfig, type Config } from '../../lib/config.js';
import { makeLogger } from '../../lib/logger.js';
import { PROJECT_ROOT } from '../../lib/paths.js';
import { SHOP_TABLES } from '../../pipelines/index.js';
import { startServeApp, type ServeHandle } from '../../serve/app.js';
import { startEmbeddedPostgres, type LocalPostgres } from '../../services/embedded-postgres.js';
import { seedShop } from '../../source/seed-shop.js';
import { freePort } from '../support/free-port.js';
import { makeHarness, type Harness } from '../support/harness.js';

/** A tiny shop (300 customers × 200 products) on this file's own PostgreSQL, so the last test can stop it. */
const CUSTOMERS = 300;
const FIRST = 'product-recs-2026-11-23';
const SECOND = 'product-recs-2026-11-27';
const KEYS = { app: 'app-key-0123456789abcdef', burst: 'burst-key-0123456789abcdef', ops: 'ops-key-0123456789abcdef' };

let postgres: LocalPostgres | undefined;
let dataDir: string;
let startPostgres: () => Promise<LocalPostgres>;
let h: Harness;
let config: Config;
let service: ServeHandle;
let api: OpenAPIBackend;
const logLines: string[] = [];

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'scoreflow-serve-'));
  fs.chmodSync(dataDir, 0o755);
  const port = await freePort();
  startPostgres = () => startEmbeddedPostgres({ dataDir: path.join(dataDir, 'pg'), port, database: 'postgres', log: makeLogger('silent') });
  postgres = await startPostgres();
  h = await makeHarness({ SCOREFLOW_RECS_CHUNK_SIZE: '100' }, { adminDatabaseUrl: postgres.url });
  await seedShop(h.rt.pool, SHOP_TABLES, { customers: CUSTOMERS, products: 200 });
  await h.run('2026-11-23', { pipeline: 'product-recs' });
  config = loadConfig({
    DATABASE_URL: h.config.database.url,
    SCOREFLOW_CRM: 'off',
    SCOREFLOW_SERVE_API_KEYS: Object.entries(KEYS).map(([name, key]) => `${name}:${key}`).join(','),
    SCOREFLOW_SERVE_RATE_LIMIT: '20',
    // An hour: a switch within seconds can only come from LISTEN/NOTIFY.
    SCOREFLOW_SERVE_POLL_SECONDS: '3600',
  });
  service = await startServeApp(config, { port: 0, log: makeLogger('info', 'serve', { write: (line: string) => void logLines.push(line) }) });
  const doc = await (await fetch(`${service.url}/openapi.json`)).json() as Document;
  api = new OpenAPIBackend({ definition: doc, strict: true, quick: false,
    ajvOpts: { formats: { 'date-time': /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/ } } });
  await api.init();
});
afterAll(async () => {
  await service?.close();
  await h?.close();
  await postgres?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

interface Answer {
  customerId: string;
  items: Array<{ rank: number; productId: string; name: string | null; score: number }>;
  source: 'batch' | 'live' | 'popular';
  runId: string;
  modelVersion: string;
  modelSha256: string;
  generatedAt: string;
}

/** GETs a path with an API key (by name, or a raw Authorization header), and checks the answer against the OpenAPI document. */
async function get<T = Answer>(pathAndQuery: string, auth: keyof typeof KEYS | { header?: string } = 'app', url = service.url) {
  const authorization = typeof auth === 'string' ? `Bearer ${KEYS[auth]}` : auth.header;
  const res = await fetch(`${url}${pathAndQuery}`, { headers: authorization ? { authorization } : {} });
  const body = await res.json() as T;
  if (pathAndQuery.startsWith('/v1/customers/')) {
    const result = api.validateResponse(body, 'getRecommendations', res.status);
    expect(result.errors ?? [], `${res.status} ${JSON.stringify(body)}`).toEqual([]);
  }
  return { status: res.status, headers: res.headers, body };
}

const recs = (path: string) => get(`/v1/customers/${path}`);
const customerWhere = async (condition: string) =>
  (await h.query<{ id: string }>(`select customer_id::text as id from shop.customers c where ${condition} order by customer_id limit 1`))[0]!.id;
const noPurchases = 'not exists (select 1 from shop.purchases p where p.customer_id = c.customer_id)';

describe('scoreflow serve: recommendations on request', () => {
  it('answers a customer the model scored with the published run\'s rows, names from the products table, k of them', async () => {
    const id = await customerWhere(`exists (select 1 from recs.current_recommendations r where r.customer_id = c.customer_id and r.source = 'model')`);
    const rows = await h.query<{ product_id: string; name: string; score: number; model_sha256: string; model_version: string }>(
      `select r.product_id::text, p.name, r.score, r.model_sha256, r.model_version from recs.current_recommendations r
       join shop.products p using (product_id) where r.customer_id = $1 order by r.rank`, [id]);
    const { status, body } = await recs(`${id}/recommendations?k=3`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ customerId: id, source: 'batch', runId: FIRST, modelSha256: rows[0]!.model_sha256, modelVersion: rows[0]!.model_version });
    expect(body.items).toEqual(rows.slice(0, 3).map((r, i) => ({ rank: i + 1, productId: r.product_id, name: r.name, score: r.score })));
    // k defaults to 5; above what the run stored (5), the answer has the 5 stored.
    expect((await recs(`${id}/recommendations`)).body.items).toHaveLength(5);
    expect((await recs(`${id}/recommendations?k=20`)).body.items.map((i) => i.productId)).toEqual(rows.map((r) => r.product_id));
  });

  it('gives a customer with no purchases the run\'s popularity list, up to k = 20', async () => {
    const id = await customerWhere(noPurchases);
    const popular = await h.query<{ product_id: string }>('select product_id::text from recs.popular_products where run_id = $1 order by rank limit 20', [FIRST]);
    const { status, body } = await recs(`${id}/recommendations?k=20`);
    expect(status).toBe(200);
    expect(body.source).toBe('popular');
    expect(body.items.map((i) => i.productId)).toEqual(popular.map((p) => p.product_id));
    expect(body.items.every((i) => i.name)).toBe(true);
  });

  it('scores live, with the run\'s model, a customer who bought for the first time after the run, and a customer who joined since: never what they bought', async () => {
    const popular = await h.query<{ product_id: string }>('select product_id::text from recs.popular_products where run_id = $1 order by rank limit 2', [FIRST]);
    const firstTimer = await customerWhere(`${noPurchases} and customer_id > (select min(customer_id) from shop.customers c2 where not exists (select 1 from shop.purchases p where p.customer_id = c2.customer_id))`);
    const newcomer = '900001';
    await h.query('insert into shop.customers (customer_id, joined_at, updated_at) values ($1, now(), now())', [newcomer]);
    await h.query(
      `insert into shop.purchases (customer_id, product_id, occurred_at, quantity)
       values ($1, $3, now() - interval '1 minute', 1), ($2, $3, now() - interval '1 minute', 1), ($2, $4, now() - interval '2 minutes', 1)`,
      [firstTimer, newcomer, popular[0]!.product_id, popular[1]!.product_id],
    );
    const bought = { [firstTimer]: [popular[0]!.product_id], [newcomer]: [popular[0]!.product_id, popular[1]!.product_id] };
    for (const id of [firstTimer, newcomer]) {
      const { status, body } = await recs(`${id}/recommendations`);
      expect(status, id).toBe(200);
      expect(body).toMatchObject({ customerId: id, source: 'live', runId: FIRST });
      expect(body.items).toHaveLength(5);
      expect(body.items.map((i) => i.productId)).not.toContain(bought[id]![0]);
      expect(body.items.map((i) => i.productId)).not.toContain(bought[id]!.at(-1));
      const inactive = await h.query('select product_id from shop.products where product_id = any($1::bigint[]) and not active', [body.items.map((i) => i.productId)]);
      expect(inactive).toEqual([]);
    }
  });

  it('answers 404 for a well-formed id that is no customer', async () => {
    const { status, body } = await recs('777777/recommendations');
    expect(status).toBe(404);
    expect(body).toMatchObject({ statusCode: 404, message: 'no customer has id 777777' });
  });

  it.each([
    ['abc/recommendations', /^id must be a customer id/],
    ['-1/recommendations', /^id must be a customer id/],
    ['007/recommendations', /^id must be a customer id/],
    ['1234567890123456789/recommendations', /^id must be a customer id/],
    ['1/recommendations?k=0', /^k must be a whole number from 1 to 20$/],
    ['1/recommendations?k=21', /^k must be a whole number from 1 to 20$/],
    ['1/recommendations?k=two', /^k must be a whole number from 1 to 20$/],
    ['1/recommendations?k=2&limit=3', /^unknown query parameter "limit"; the only one is k$/],
  ])('refuses GET /v1/customers/%s with 400 and a body saying what is wrong', async (pathAndQuery, message) => {
    const { status, body } = await get<{ message: string }>(`/v1/customers/${pathAndQuery}`);
    expect(status).toBe(400);
    expect(body.message).toMatch(message);
  });

  it.each([
    ['no Authorization header', {}, /send an API key/],
    ['an unknown key', { header: 'Bearer not-a-key-0123456789abcdef' }, /not one of this service's keys/],
    ['a key in another scheme', { header: `Basic ${KEYS.app}` }, /not one of this service's keys/],
  ])('refuses %s with 401, before looking at the request', async (_what, auth, message) => {
    const { status, headers, body } = await get<{ message: string }>('/v1/customers/abc/recommendations', auth);
    expect(status).toBe(401);
    expect(headers.get('www-authenticate')).toBe('Bearer');
    expect(body.message).toMatch(message);
  });

  it('limits requests per API key with 429 and Retry-After, leaving other keys alone', async () => {
    const id = await customerWhere(noPurchases);
    // 60 at once: even split across two one-second windows, at most 40 get through.
    const answers = await Promise.all(Array.from({ length: 60 }, () => get(`/v1/customers/${id}/recommendations`, 'burst')));
    const limited = answers.filter((a) => a.status === 429);
    expect(answers.filter((a) => a.status === 200).length).toBeGreaterThanOrEqual(20);
    expect(limited.length).toBeGreaterThanOrEqual(20);
    expect(limited.length + 20).toBeLessThanOrEqual(60);
    expect(Number(limited[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await get(`/v1/customers/${id}/recommendations`, 'app')).status).toBe(200);
  });

  it('reports latency by source and the cache hit ratio in /metrics, and logs requests without customer ids or keys', async () => {
    const id = await customerWhere(`exists (select 1 from recs.current_recommendations r where r.customer_id = c.customer_id and r.source = 'model') and customer_id > 50`);
    await recs(`${id}/recommendations`);
    await recs(`${id}/recommendations`);
    const text = await (await fetch(`${service.url}/metrics`)).text();
    for (const source of ['batch', 'live', 'popular']) expect(text).toMatch(new RegExp(`scoreflow_serve_request_duration_seconds_count\\{source="${source}",status="200"\\} [1-9]`));
    expect(text).toMatch(/scoreflow_serve_cache_hits_total [1-9]/);
    expect(text).toMatch(/scoreflow_serve_cache_hit_ratio 0\.\d+/);
    const requests = logLines.filter((l) => l.includes('"msg":"request"'));
    expect(requests.length).toBeGreaterThan(10);
    expect(requests.some((l) => l.includes('"route":"/v1/customers/:id/recommendations"') && l.includes('"key":"app"'))).toBe(true);
    const all = logLines.join('\n');
    expect(all).not.toContain(`/customers/${id}`);
    expect(all).not.toContain(`"${id}"`);
    for (const key of Object.values(KEYS)) expect(all).not.toContain(key);
  });

  it('switches to a newly published run within seconds, without a restart or a failed request, and never serves the old run\'s rows again', async () => {
    const id = await customerWhere(`exists (select 1 from recs.current_recommendations r where r.customer_id = c.customer_id and r.source = 'model')`);
    expect((await recs(`${id}/recommendations`)).body.runId).toBe(FIRST);
    let stop = false;
    const statuses: number[] = [];
    const load = (async () => {
      while (!stop) {
        statuses.push((await get(`/v1/customers/${id}/recommendations`, 'ops')).status);
        await new Promise((r) => setTimeout(r, 60));
      }
    })();
    try {
      await h.run('2026-11-27', { pipeline: 'product-recs' });
      await expect.poll(async () => (await recs(`${id}/recommendations`)).body.runId, { timeout: 30_000, interval: 100 }).toBe(SECOND);
    } finally {
      stop = true;
      await load;
    }
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    const rows = await h.query<{ product_id: string }>('select product_id::text from recs.customer_recommendations where run_id = $1 and customer_id = $2 order by rank', [SECOND, id]);
    expect((await recs(`${id}/recommendations`)).body.items.map((i) => i.productId)).toEqual(rows.map((r) => r.product_id));
    expect(service.watcher.listening()).toBe(true);
  });

  it('without a NOTIFY (the pointer moved by hand), switches at the next poll of recs.published_run', async () => {
    const polled = await startServeApp({ ...config, serve: { ...config.serve, pollSeconds: 0.3 } }, { port: 0, log: makeLogger('silent') });
    try {
      const id = await customerWhere(`exists (select 1 from recs.current_recommendations r where r.customer_id = c.customer_id and r.source = 'model')`);
      expect((await get(`/v1/customers/${id}/recommendations`, 'ops', polled.url)).body.runId).toBe(SECOND);
      await h.query('update recs.published_run set run_id = $1 where pipeline = $2', [FIRST, 'product-recs']);
      await expect.poll(async () => (await get(`/v1/customers/${id}/recommendations`, 'ops', polled.url)).body.runId, { timeout: 30_000, interval: 100 }).toBe(FIRST);
    } finally {
      await h.query('update recs.published_run set run_id = $1 where pipeline = $2', [SECOND, 'product-recs']);
      await polled.close();
    }
  });

  it('runs as `scoreflow serve` in its own process, and exits cleanly on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn('node', [path.join(PROJECT_ROOT, 'dist', 'workers', 'cli.js'), 'serve'], {
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/root', DATABASE_URL: h.config.database.url!, LOG_LEVEL: 'warn',
        SCOREFLOW_SERVE_PORT: String(port), SCOREFLOW_SERVE_API_KEYS: `app:${KEYS.app}` },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await expect.poll(() => stderr, { timeout: 60_000, interval: 100 }).toContain(`scoreflow serve on http://127.0.0.1:${port}`);
      const published = (await h.query<{ run_id: string }>('select run_id from recs.published_run'))[0]!.run_id;
      expect(stderr).toContain(`answering from ${published}`);
      const id = await customerWhere(`exists (select 1 from recs.current_recommendations r where r.customer_id = c.customer_id and r.source = 'model')`);
      expect(await get(`/v1/customers/${id}/recommendations`, 'app', `http://127.0.0.1:${port}`)).toMatchObject({ status: 200, body: { source: 'batch', runId: published } });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, stderr).toBe(0);
    expect(stderr).not.toContain(KEYS.app);
  });

  it('finishes a request in flight when shut down, and then refuses connections', async () => {
    const other = await startServeApp(config, { port: 0, log: makeLogger('silent') });
    const id = await customerWhere(`customer_id > 200 and exists (select 1 from recs.current_recommendations r where r.customer_id = c.customer_id and r.source = 'model')`);
    const locker = await h.rt.pool.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table recs.customer_recommendations in access exclusive mode');
      const inFlight = get(`/v1/customers/${id}/recommendations`, 'ops', other.url);
      await expect.poll(async () => (await h.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%recs.customer_recommendations%'`))[0]!.n).toBe(1);
      let closed = false;
      const closing = other.close().then(() => { closed = true; });
      await new Promise((r) => setTimeout(r, 200));
      expect(closed).toBe(false);
      await locker.query('commit');
      const answer = await inFlight;
      expect(answer.status).toBe(200);
      expect(answer.body.source).toBe('batch');
      await closing;
      await expect(fetch(`${other.url}/healthz`)).rejects.toThrow();
    } finally {
      await locker.query('rollback').catch(() => {});
      locker.release();
    }
  });

  it('with PostgreSQL stopped: serves cached customers, 503 with Retry-After for others, not ready with the reason; recovers when it returns', async () => {
    const cached = await customerWhere(`exists (select 1 from recs.current_recommendations r where r.customer_id = c.customer_id and r.source = 'model')`);
    const uncached = await customerWhere(`customer_id > 250 and exists (select 1 from recs.current_recommendations r where r.customer_id = c.customer_id and r.source = 'model')`);
    const before = await recs(`${cached}/recommendations`);
    expect(before.status).toBe(200);
    expect((await get<{ ready: boolean }>('/readyz')).body.ready).toBe(true);

    await postgres!.stop();
    postgres = undefined;
    try {
      expect(await recs(`${cached}/recommendations`)).toMatchObject({ status: 200, body: before.body });
      const refused = await recs(`${uncached}/recommendations`);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect((refused.body as unknown as { message: string }).message).toMatch(/PostgreSQL is unreachable/);
      const ready = await get<{ ready: boolean; reasons: string[] }>('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.reasons.join(' ')).toMatch(/PostgreSQL is unreachable/);
      expect((await get('/healthz')).status).toBe(200);
      await expect.poll(() => service.watcher.listening(), { timeout: 10_000 }).toBe(false);
    } finally {
      postgres = await startPostgres();
    }

    await expect.poll(async () => (await get('/readyz')).status, { timeout: 30_000, interval: 200 }).toBe(200);
    const recovered = await recs(`${uncached}/recommendations`);
    expect(recovered).toMatchObject({ status: 200, body: { source: 'batch', runId: SECOND } });
    // The LISTEN connection is back: a publication (here the pointer moved back by hand, as a rollback would) switches the service.
    await expect.poll(() => service.watcher.listening(), { timeout: 30_000 }).toBe(true);
    await h.query(`begin; update recs.published_run set run_id = '${FIRST}', published_at = now() where pipeline = 'product-recs';
                   select pg_notify('${RECS_PUBLISHED_CHANNEL}', '{}'); commit`);
    await expect.poll(async () => (await recs(`${uncached}/recommendations`)).body.runId, { timeout: 30_000, interval: 100 }).toBe(FIRST);
  });
});
