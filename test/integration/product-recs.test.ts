import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createScoringActivities, type ExtractResult } from '../../activities/index.js';
import { makeLogger } from '../../lib/logger.js';
import { pruneRetention } from '../../activities/sql/prune-retention.js';
import { exportHistory } from '../../workers/history.js';
import { activityDeps } from '../../workers/worker.js';
import { makeHarness, type Harness } from '../support/harness.js';
import { SLEEPING, sleepOnceAfter } from '../support/pause-once.js';
import { SHOP_TABLES } from '../../pipelines/index.js';
import { seedShop } from '../../source/seed-shop.js';
import { listPipelines } from '../../workers/pipeline-commands.js';
import { showRecommendations } from '../../workers/recs-commands.js';

/** A tiny shop from the generator: 300 customers × 200 products, scored in three chunks of 100, 40 customers a batch. */
const CUSTOMERS = 300;
const FIRST = '2026-11-23';
const SECOND = '2026-11-27';

let h: Harness;
beforeAll(async () => {
  h = await makeHarness({ SCOREFLOW_RECS_CHUNK_SIZE: '100', SCOREFLOW_RECS_BATCH_SIZE: '40', SCOREFLOW_RECS_TIMEZONE: 'Europe/Berlin' });
  await seedShop(h.rt.pool, SHOP_TABLES, { customers: CUSTOMERS, products: 200 });
});
afterAll(async () => {
  await h?.close();
});

type Rec = { customer_id: string; rank: number; product_id: string; source: string; run_id: string };
const view = () => h.query<Rec>('select customer_id::text, rank, product_id::text, source, run_id from recs.current_recommendations order by customer_id, rank');

describe('the product recommender through the generic workflow', () => {
  it('gives every customer five distinct active products they never bought, ranked 1-5, or fewer with a reason', async () => {
    const result = await h.run(FIRST, { pipeline: 'product-recs' });
    expect(result).toMatchObject({ runId: `product-recs-${FIRST}`, extracted: CUSTOMERS, chunks: 3, scored: CUSTOMERS, published: CUSTOMERS });

    const perCustomer = await h.query<{ customer_id: string; n: number; distinct_products: number; ranks: number[]; returned: number | null }>(
      `select c.customer_id::text, count(r.rank)::int as n, count(distinct r.product_id)::int as distinct_products,
              array_agg(r.rank order by r.rank) filter (where r.rank is not null) as ranks, s.returned
       from shop.customers c
       left join recs.current_recommendations r using (customer_id)
       left join recs.short_recommendations s on s.customer_id = c.customer_id and s.run_id = $1
       group by c.customer_id, s.returned`,
      [result.runId],
    );
    expect(perCustomer).toHaveLength(CUSTOMERS);
    for (const c of perCustomer) {
      const expected = c.returned ?? 5;
      expect(c.n, `customer ${c.customer_id}`).toBe(expected);
      expect(c.distinct_products).toBe(expected);
      expect(c.ranks ?? []).toEqual(Array.from({ length: expected }, (_, i) => i + 1));
    }
    const bought = await h.query<{ n: number }>(
      `select count(*)::int as n from recs.current_recommendations r
       join shop.purchases p on p.customer_id = r.customer_id and p.product_id = r.product_id`,
    );
    expect(bought[0]!.n).toBe(0);
    const inactive = await h.query<{ n: number }>(
      `select count(*)::int as n from recs.current_recommendations r left join shop.products p using (product_id)
       where p.active is not true`,
    );
    expect(inactive[0]!.n).toBe(0);
    const rows = await h.query<{ run_id: string; model_version: string; model_sha256: string }>(
      'select distinct run_id, model_version, model_sha256 from recs.customer_recommendations',
    );
    expect(rows).toEqual([{ run_id: result.runId, model_version: result.modelVersion, model_sha256: result.modelSha256 }]);

    // Its history is small and names no customer; SCOREFLOW_RECORD_HISTORIES=<dir> writes it for test/histories/.
    const history = await exportHistory(h.rt, result.runId);
    expect((JSON.parse(history) as { events: unknown[] }).events.length).toBeLessThan(300);
    const record = process.env['SCOREFLOW_RECORD_HISTORIES'];
    if (record) fs.writeFileSync(path.join(record, 'product-recs-success-3-chunks.json'), history);
  });

  it('leaves HubSpot alone with SCOREFLOW_RECS_CRM off (the default): its CRM stage records crm_status off and sends nothing', async () => {
    expect(h.config.recs.crm).toBe(false);
    const acts = createScoringActivities(activityDeps({ config: h.config, pool: h.rt.pool, log: makeLogger('warn'), crm: h.rt.crm }));
    const ref = { runId: `product-recs-${FIRST}`, pipeline: 'product-recs', asOf: FIRST };
    expect(await new MockActivityEnvironment().run(acts.prepareCrmSync, ref)).toEqual({ contacts: 0, batches: 0, partitions: 0 });
    expect(await h.query('select crm_status, crm_sent from scoring.pipeline_runs where run_id = $1', [ref.runId])).toEqual([{ crm_status: 'off', crm_sent: null }]);
    expect(await h.query('select count(*)::int as n from scoring.crm_outbox')).toEqual([{ n: 0 }]);
    expect(h.sandbox.stats().upsertCalls).toBe(0);
  });

  it('gives customers without purchases the popularity list, marked popular, and buyers the model\'s', async () => {
    const sources = await h.query<{ buyer: boolean; source: string; n: number }>(
      `select exists (select 1 from shop.purchases p where p.customer_id = r.customer_id) as buyer, r.source, count(*)::int as n
       from recs.current_recommendations r group by 1, 2 order by 1, 2`,
    );
    expect(sources.map((s) => [s.buyer, s.source])).toEqual([[false, 'popular'], [true, 'model']]);
    const popular = await h.query<{ product_id: string }>(
      `select product_id::text from recs.popular_products where run_id = $1 order by rank limit 5`, [`product-recs-${FIRST}`],
    );
    const nonBuyer = await h.query<{ customer_id: string }>(
      'select customer_id::text from shop.customers c where not exists (select 1 from shop.purchases p where p.customer_id = c.customer_id) limit 1',
    );
    const shown = await showRecommendations(h.rt, nonBuyer[0]!.customer_id);
    expect(shown.map((r) => r.productId)).toEqual(popular.map((p) => p.product_id));
    expect(shown.every((r) => r.source === 'popular' && r.name)).toBe(true);
  });

  it('shows the previous run\'s complete set until the next run publishes; a customer who bought since gets new recommendations without it', async () => {
    const before = await view();
    const buyer = before.find((r) => r.source === 'model' && r.rank === 1)!;
    await h.query(
      `insert into shop.purchases (customer_id, product_id, occurred_at, quantity) values ($1, $2, now() - interval '1 minute', 1)`,
      [buyer.customer_id, buyer.product_id],
    );
    await h.query('update shop.customers set updated_at = now() where customer_id = $1', [buyer.customer_id]);
    // The publish transaction pauses once after moving the pointer, before it commits.
    await sleepOnceAfter(h, { event: 'insert', table: 'recs.published_run', seconds: 4 });

    const running = h.run(SECOND, { pipeline: 'product-recs' });
    await expect.poll(async () => (await h.query<{ ok: boolean }>(SLEEPING))[0]!.ok, { timeout: 60_000, interval: 100 }).toBe(true);
    const staged = await h.query<{ n: number }>('select count(distinct customer_id)::int as n from recs.customer_recommendations where run_id = $1', [`product-recs-${SECOND}`]);
    expect(staged[0]!.n).toBe(CUSTOMERS);
    expect(await view()).toEqual(before);
    expect(await h.query('select run_id from recs.published_run')).toEqual([{ run_id: `product-recs-${FIRST}` }]);
    await running;

    const after = await view();
    expect(new Set(after.map((r) => r.run_id))).toEqual(new Set([`product-recs-${SECOND}`]));
    expect(new Set(after.map((r) => r.customer_id)).size).toBe(CUSTOMERS);
    const mine = (rows: Rec[]) => rows.filter((r) => r.customer_id === buyer.customer_id).map((r) => r.product_id);
    expect(mine(after)).not.toEqual(mine(before));
    expect(mine(after)).not.toContain(buyer.product_id);
    // Both runs are kept (up to SCOREFLOW_RECS_KEEP_RUNS).
    expect((await h.query('select distinct run_id from recs.customer_recommendations order by 1')).length).toBe(2);
  });

  it('leaves identical rows when the same date is run again', async () => {
    const tables = async () => ({
      versioned: await h.query('select * from recs.customer_recommendations order by run_id, customer_id, rank'),
      pointer: await h.query('select pipeline, run_id from recs.published_run'),
    });
    const before = await tables();
    await h.run(SECOND, { pipeline: 'product-recs' });
    expect(await tables()).toEqual(before);
  });

  it('schedules Monday 13:00 and Friday 08:00 in the configured time zone', async () => {
    const recs = (await listPipelines(h.rt, new Date('2026-11-26T12:00:00Z'))).find((p) => p.id === 'product-recs')!;
    expect(recs.schedule.timezone).toBe('Europe/Berlin');
    // Friday 27 November 08:00 in Berlin is 07:00 UTC.
    expect(recs.nextRun).toBe('2026-11-27T07:00:00.000Z');
    expect(recs.crm).toBe(false);
  });

  it('scores a chunk in batches, heartbeating after each; a chunk cancelled after its first batch is staged leaves nothing, and its retry stages it once', async () => {
    const acts = createScoringActivities(activityDeps({ config: h.config, pool: h.rt.pool, log: makeLogger('warn'), crm: undefined }));
    const env = new MockActivityEnvironment();
    const run = { runId: 'product-recs-2026-12-02', pipeline: 'product-recs', asOf: '2026-12-02' };
    const extracted = await env.run(acts.extractLeads, { ...run, full: false }) as ExtractResult;
    const chunk = { runId: run.runId, pipeline: run.pipeline, chunk: 0, modelSha256: extracted.modelSha256 };
    const staged: number[] = [];
    env.on('heartbeat', (d: { staged?: number } | undefined) => {
      if (d?.staged === undefined) return;
      staged.push(d.staged);
      if (staged.length === 1) env.cancel();
    });
    await expect(env.run(acts.scoreChunk, chunk)).rejects.toMatchObject({ name: 'CancelledFailure' });
    expect(staged).toEqual([40]);
    const rows = () => h.query<{ customer_id: string }>('select customer_id::text from recs.customer_recommendations where run_id = $1 order by customer_id, rank', [run.runId]);
    expect(await rows()).toEqual([]);
    expect(await h.query('select chunk from scoring.run_chunks where run_id = $1', [run.runId])).toEqual([]);

    const retry = new MockActivityEnvironment();
    const batches: number[] = [];
    retry.on('heartbeat', (d: { staged?: number } | undefined) => void (d?.staged !== undefined && batches.push(d.staged)));
    expect(await retry.run(acts.scoreChunk, chunk)).toEqual({ scored: 100, rejected: 0 });
    expect(batches).toEqual([40, 80, 100]);
    const after = await rows();
    expect(new Set(after.map((r) => r.customer_id)).size).toBe(100);
    expect(after.length).toBeLessThanOrEqual(500);
    expect(await view()).not.toContainEqual(expect.objectContaining({ run_id: run.runId }));

    // Never published: its staged rows go once it is past the retention.
    await h.query("update scoring.pipeline_runs set updated_at = now() - interval '40 days' where run_id = $1", [run.runId]);
    expect(await pruneRetention(h.rt.pool, 30)).toMatchObject({ stagedRecommendations: after.length, runChunks: 1 });
    expect(await rows()).toEqual([]);
  });

  it('stages a retried chunk once: a second attempt at a staged chunk changes nothing', async () => {
    const acts = createScoringActivities(activityDeps({ config: h.config, pool: h.rt.pool, log: makeLogger('warn'), crm: undefined }));
    const env = new MockActivityEnvironment();
    const run = { runId: 'product-recs-2026-12-04', pipeline: 'product-recs', asOf: '2026-12-04' };
    const extracted = await env.run(acts.extractLeads, { ...run, full: false }) as ExtractResult;
    expect(extracted).toMatchObject({ total: CUSTOMERS, chunks: 3 });
    const staged = () => h.query('select * from recs.customer_recommendations where run_id = $1 order by customer_id, rank', [run.runId]);
    const chunk = { runId: run.runId, pipeline: run.pipeline, chunk: 1, modelSha256: extracted.modelSha256 };
    expect(await env.run(acts.scoreChunk, chunk)).toEqual({ scored: 100, rejected: 0 });
    const first = await staged();
    expect(new Set(first.map((r) => (r as { customer_id: string }).customer_id)).size).toBe(100);
    expect(await env.run(acts.scoreChunk, chunk)).toEqual({ scored: 100, rejected: 0 });
    expect(await staged()).toEqual(first);
    expect(await h.query('select chunk from scoring.run_chunks where run_id = $1', [run.runId])).toEqual([{ chunk: 1 }]);
    expect(await h.query('select run_id from recs.published_run')).toEqual([{ run_id: `product-recs-${SECOND}` }]);

    // Left unpublished past the retention, its staged rows are pruned with its chunk marks, and a rerun starts afresh.
    await h.query("update scoring.pipeline_runs set updated_at = now() - interval '40 days' where run_id = $1", [run.runId]);
    expect(await pruneRetention(h.rt.pool, 30)).toMatchObject({ stagedRecommendations: first.length, runChunks: 1 });
    expect(await h.run(run.asOf, { pipeline: run.pipeline })).toMatchObject({ runId: run.runId, published: CUSTOMERS });
    expect(await h.query('select run_id from recs.published_run')).toEqual([{ run_id: run.runId }]);
    // Three runs kept (SCOREFLOW_RECS_KEEP_RUNS), the view showing the last.
    expect((await h.query('select distinct run_id from recs.customer_recommendations')).length).toBe(3);
    // A fourth publication deletes the oldest run's rows.
    await h.run('2026-12-07', { pipeline: run.pipeline });
    expect(await h.query('select distinct run_id from recs.customer_recommendations order by 1')).toEqual(
      [`product-recs-${SECOND}`, run.runId, 'product-recs-2026-12-07'].map((run_id) => ({ run_id })),
    );
  });
});
