import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@hubspot/api-client';
import { SANDBOX_TOKEN } from '../../sandbox/server.js';
import { RECS_CRM_PROPERTIES, SHOP_TABLES } from '../../pipelines/index.js';
import { seedShop } from '../../source/seed-shop.js';
import { forgetEmail } from '../../workers/data-commands.js';
import { makeHarness, type Harness } from '../support/harness.js';

/** 300 customers and 300 leads: customer ids and lead ids are the same numbers 1..300. */
const CUSTOMERS = 300;
const RANKS = RECS_CRM_PROPERTIES.ranks;

let h: Harness;
beforeAll(async () => {
  h = await makeHarness({ SCOREFLOW_RECS_CHUNK_SIZE: '100', SCOREFLOW_RECS_CRM: 'on' });
  await seedShop(h.rt.pool, SHOP_TABLES, { customers: CUSTOMERS, products: 200 });
  await h.seed(CUSTOMERS);
});
afterAll(async () => {
  await h?.close();
});

/** Contacts by email, read through HubSpot's batch read as the marketing email tool would. */
async function contacts(emails: string[], properties: string[]): Promise<Map<string, Record<string, string | null>>> {
  const client = new Client({ accessToken: SANDBOX_TOKEN, basePath: h.sandbox.url, numberOfApiCallRetries: 0 });
  const read = await client.crm.contacts.batchApi.read({ idProperty: 'email', inputs: emails.map((id) => ({ id })), properties: ['email', ...properties], propertiesWithHistory: [] });
  return new Map(read.results.map((c) => [c.properties['email']!, c.properties]));
}

/** Each customer's published product names in rank order, with their email. */
async function publishedNames(customerIds: string[]): Promise<Array<{ customer_id: string; email: string; names: string[] }>> {
  return h.query(
    `select c.customer_id::text, c.email, array_agg(p.name order by r.rank) as names
     from recs.current_recommendations r join shop.products p using (product_id) join shop.customers c using (customer_id)
     where r.customer_id = any($1::bigint[]) group by c.customer_id, c.email order by 1`,
    [customerIds],
  );
}

const sentIn = async (runId: string) =>
  (await h.query<{ id: string }>('select lead_id::text as id from scoring.crm_outbox where run_id = $1 order by lead_id', [runId])).map((r) => r.id);
const leadState = () => h.query("select * from scoring.crm_sync_state where pipeline = 'lead-scoring' order by lead_id");

describe('the product recommender\'s CRM sink (SCOREFLOW_RECS_CRM=on)', () => {
  it('puts each customer\'s five product names on their contact as product_rec_1..5', async () => {
    const run = await h.run('2026-11-23', { pipeline: 'product-recs' });

    expect(run.crm).toMatchObject({ sent: CUSTOMERS, unchanged: 0, failed: 0, skipped: 0, notInCrm: 0, verified: 100 });
    const checked = await publishedNames(['1', '2', '17', '150', '300']);
    expect(checked).toHaveLength(5);
    const held = await contacts(checked.map((c) => c.email), [...RANKS, RECS_CRM_PROPERTIES.modelVersion]);
    for (const c of checked) {
      expect(c.names.length, `customer ${c.customer_id}`).toBeGreaterThan(0);
      const names = RANKS.map((_, i) => c.names[i] ?? null);
      expect(RANKS.map((p) => held.get(c.email)?.[p] ?? null), `customer ${c.customer_id}`).toEqual(names);
      expect(held.get(c.email)?.[RECS_CRM_PROPERTIES.modelVersion]).toBe(run.modelVersion);
    }
    const client = new Client({ accessToken: SANDBOX_TOKEN, basePath: h.sandbox.url, numberOfApiCallRetries: 0 });
    for (const name of [...RANKS, RECS_CRM_PROPERTIES.modelVersion]) {
      expect(await client.crm.properties.coreApi.getByName('contacts', name), name).toMatchObject({ groupName: 'scoreflow', type: 'string', fieldType: 'text' });
    }
    expect(await client.crm.properties.coreApi.getByName('contacts', RECS_CRM_PROPERTIES.generatedAt)).toMatchObject({ groupName: 'scoreflow', type: 'datetime' });
    const [audit] = await h.query("select crm_status, crm_sent from scoring.pipeline_runs where run_id = 'product-recs-2026-11-23'");
    expect(audit).toEqual({ crm_status: 'synced', crm_sent: CUSTOMERS });
  });

  it('keeps lead scoring\'s CRM state apart: the same ids as leads are all sent, and a recs run leaves their state as it was', async () => {
    const leads = await h.run('2026-11-23');
    expect(leads.crm).toMatchObject({ sent: CUSTOMERS, unchanged: 0, failed: 0 });
    const byPipeline = await h.query("select pipeline, count(*)::int as n from scoring.crm_sync_state where lead_id = 1 group by 1 order by 1");
    expect(byPipeline).toEqual([{ pipeline: 'lead-scoring', n: 1 }, { pipeline: 'product-recs', n: 1 }]);
    const lead1 = (await h.query<{ email: string }>('select lower(email) as email from public.leads where lead_id = 1'))[0]!.email;
    const leadContact = (await contacts([lead1], ['lead_score', 'product_rec_1'])).get(lead1);
    expect(leadContact?.['lead_score']).toMatch(/^\d+\.\d$/);
    expect(leadContact?.['product_rec_1'] ?? null).toBeNull();

    const before = await leadState();
    await h.run('2026-11-24', { pipeline: 'product-recs' });
    expect(await leadState()).toEqual(before);
  });

  it('sends nothing on a second run when no customer\'s names changed', async () => {
    const upserts = h.sandbox.stats().upsertCalls;
    const again = await h.run('2026-11-27', { pipeline: 'product-recs' });
    expect(again.crm).toMatchObject({ sent: 0, unchanged: CUSTOMERS, failed: 0 });
    expect(h.sandbox.stats().upsertCalls).toBe(upserts);
  });

  it('sends a customer whose recommendations changed again, and only them', async () => {
    const [buyer] = await h.query<{ customer_id: string; product_id: string }>(
      "select customer_id::text, product_id::text from recs.current_recommendations where source = 'model' and rank = 1 order by customer_id limit 1",
    );
    // Bought well before the popularity window, so only this customer's own recommendations move.
    await h.query("insert into shop.purchases (customer_id, product_id, occurred_at, quantity) values ($1, $2, now() - interval '60 days', 1)", [buyer!.customer_id, buyer!.product_id]);
    await h.query('update shop.customers set updated_at = now() where customer_id = $1', [buyer!.customer_id]);

    const next = await h.run('2026-11-30', { pipeline: 'product-recs' });

    expect(next.crm).toMatchObject({ sent: 1, unchanged: CUSTOMERS - 1, failed: 0 });
    expect(await sentIn('product-recs-2026-11-30')).toEqual([buyer!.customer_id]);
    const [now] = await publishedNames([buyer!.customer_id]);
    const held = await contacts([now!.email], RANKS);
    expect(RANKS.map((p) => held.get(now!.email)?.[p] ?? null)).toEqual(RANKS.map((_, i) => now!.names[i] ?? null));
    const [product] = await h.query<{ name: string }>('select name from shop.products where product_id = $1', [buyer!.product_id]);
    expect(now!.names).not.toContain(product!.name);
  });

  it('forgets a customer by email: their recommendations and CRM rows go, the lead with the same id stays', async () => {
    const [customer] = await h.query<{ email: string }>('select email from shop.customers where customer_id = 2');
    const held = async (pipeline: string) => ({
      state: (await h.query<{ n: number }>('select count(*)::int as n from scoring.crm_sync_state where pipeline = $1 and lead_id = 2', [pipeline]))[0]!.n,
      outbox: (await h.query<{ n: number }>('select count(*)::int as n from scoring.crm_outbox o join scoring.pipeline_runs r using (run_id) where r.pipeline = $1 and o.lead_id = 2', [pipeline]))[0]!.n,
    });
    const recs = () => h.query<{ n: number }>('select count(*)::int as n from recs.customer_recommendations where customer_id = 2');
    const lead = async () => ({ ...(await held('lead-scoring')), scores: await h.query('select * from scoring.lead_scores where lead_id = 2') });
    expect((await recs())[0]!.n).toBeGreaterThan(0);
    expect(await held('product-recs')).toMatchObject({ state: 1, outbox: expect.any(Number) });
    const leadBefore = await lead();
    expect(leadBefore.state).toBe(1);

    const forgotten = await forgetEmail(h.rt, ` ${customer!.email.toUpperCase()}`);

    expect(forgotten).toMatchObject({ leadIds: [], keys: { 'product-recs': ['2'] }, sources: expect.arrayContaining([{ pipeline: 'product-recs', table: 'shop.customers', rows: 1 }]) });
    expect(forgotten.removed).toMatchObject({ crm_sync_state: 1, lead_scores: 0, lead_score_history: 0 });
    expect(forgotten.removed.customer_recommendations).toBeGreaterThan(0);
    expect(await recs()).toEqual([{ n: 0 }]);
    expect(await held('product-recs')).toEqual({ state: 0, outbox: 0 });
    expect(await lead()).toEqual(leadBefore);
  });
});
