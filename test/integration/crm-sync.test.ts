import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '@hubspot/api-client';
import type { ActivityFailure, ApplicationFailure} from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import { crmScore } from '../../activities/crm/contact-properties.js';
import { SANDBOX_TOKEN, SCOPES } from '../../sandbox/server.js';
import { makeHarness, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Every contact in the sandbox, read through HubSpot's API as an account executive's tools would. */
async function contactsInCrm(h: Harness, token = SANDBOX_TOKEN): Promise<Map<string, Record<string, string | null>>> {
  const client = new Client({ accessToken: token, basePath: h.sandbox.url, numberOfApiCallRetries: 0 });
  const contacts = new Map<string, Record<string, string | null>>();
  let after: string | undefined;
  const properties = ['email', 'lead_score', 'lead_score_bucket', 'lead_score_model_version', 'hubspotscore'];
  do {
    const page = await client.crm.contacts.basicApi.getPage(100, after, properties).catch(async (err: { code?: number; headers?: Record<string, string> }) => {
      if (err.code !== 429) throw err;
      // Like any HubSpot client: wait as long as HubSpot says, then read the page again.
      await new Promise((r) => setTimeout(r, Number(err.headers?.['retry-after'] ?? 1) * 1000));
      return client.crm.contacts.basicApi.getPage(100, after, properties);
    });
    for (const c of page.results) contacts.set(c.properties['email']!, c.properties);
    after = page.paging?.next?.after;
  } while (after);
  return contacts;
}

/** What HubSpot should hold: each published lead's score and bucket, by lower-cased email. */
async function expectedContacts(h: Harness, exceptLeadIds: number[] = []) {
  const rows = await h.query<{ email: string; score: number; bucket: string }>(
    `select lower(btrim(l.email)) as email, s.score, s.bucket from scoring.lead_scores s join public.leads l using (lead_id)
     where not (s.lead_id = any($1::bigint[])) order by 1`,
    [exceptLeadIds],
  );
  return rows;
}

async function expectCrmMatchesPublished(h: Harness, exceptLeadIds: number[] = [], token = SANDBOX_TOKEN) {
  const crm = await contactsInCrm(h, token);
  const expected = await expectedContacts(h, exceptLeadIds);
  expect(expected.length).toBeGreaterThan(0);
  for (const e of expected) {
    expect(crm.get(e.email), e.email).toMatchObject({ lead_score: crmScore(e.score), lead_score_bucket: e.bucket, lead_score_model_version: '1.0.0' });
  }
  return crm;
}

const emailOf = async (h: Harness, leadId: number) =>
  (await h.query<{ email: string }>('select email from public.leads where lead_id = $1', [leadId]))[0]!.email;

describe('the CRM-sync stage against the HubSpot sandbox', () => {
  it('puts exactly each published score and bucket on its contact, and an unchanged second run makes no upsert call', async () => {
    h = await makeHarness();
    await h.seed(1200);
    const first = await h.run('2026-08-01');

    expect(first.crm).toMatchObject({ sent: 1200, unchanged: 0, failed: 0, skipped: 0, deferred: 0, rateLimited: 0, verified: 100 });
    const crm = await expectCrmMatchesPublished(h);
    expect(crm.size).toBe(1200);
    expect([...crm.values()].every((c) => c['hubspotscore'] == null)).toBe(true);
    const properties = await h.sandbox.stats();
    expect(properties.upsertCalls).toBe(12);

    const upsertsBefore = h.sandbox.stats().upsertCalls;
    const second = await h.run('2026-08-02');
    expect(second.crm).toMatchObject({ sent: 0, unchanged: 1200, failed: 0 });
    expect(h.sandbox.stats().upsertCalls).toBe(upsertsBefore);
    const [audit] = await h.query("select crm_status, crm_sent, crm_unchanged, crm_calls from scoring.pipeline_runs where run_id = 'lead-scoring-2026-08-02'");
    // Its one call reads the portal id (the run's CRM target) from HubSpot's account info.
    expect(audit).toEqual({ crm_status: 'synced', crm_sent: 0, crm_unchanged: 1200, crm_calls: 1 });
  });

  it('is left out by a run started with crmSync false; the next run with the stage sends what it published', async () => {
    h = await makeHarness();
    await h.seed(300);
    const scoredOnly = await h.run('2026-08-01', { crm: false });

    expect(scoredOnly).toMatchObject({ published: 300 });
    expect(scoredOnly.crm).toBeUndefined();
    expect(h.sandbox.stats().upsertCalls).toBe(0);
    expect(await h.query('select crm_status from scoring.pipeline_runs')).toEqual([{ crm_status: null }]);

    const next = await h.run('2026-08-02');
    expect(next).toMatchObject({ extracted: 0, crm: { sent: 300, failed: 0 } });
    expect((await expectCrmMatchesPublished(h)).size).toBe(300);
  });

  it('converges to the same contacts through 10% server errors and forced 429s', async () => {
    h = await makeHarness();
    // 50 upsert calls at a 10% error rate: the chance that none fails is 0.5%.
    await h.seed(5000);
    // Forced 5xx first, so the outage is certain, then a 10% error rate for the rest of the run.
    h.sandbox.setFaults({ force5xx: 3, serverErrorRate: 0.1, force429: 4 });
    const result = await h.run('2026-08-01');
    expect(result.crm).toMatchObject({ sent: 5000, failed: 0 });
    expect(result.crm!.rateLimited).toBeGreaterThanOrEqual(4);
    expect(h.sandbox.stats().serverErrors).toBeGreaterThan(0);
    h.sandbox.resetFaults();
    await expectCrmMatchesPublished(h);
  });

  it('records 207 per-contact failures with HubSpot’s message and sends them with the next run', async () => {
    h = await makeHarness();
    await h.seed(400);
    const [a, b] = [await emailOf(h, 5), await emailOf(h, 9)];
    h.sandbox.setFaults({ failEmails: [a, b] });
    const first = await h.run('2026-08-01');
    expect(first.crm).toMatchObject({ sent: 398, failed: 2 });
    const failures = await h.query<{ lead_id: string; kind: string; reason: string }>('select lead_id, kind, reason from scoring.crm_sync_failures order by lead_id');
    expect(failures.map((f) => [Number(f.lead_id), f.kind])).toEqual([[5, 'failed'], [9, 'failed']]);
    expect(failures[0]!.reason).toMatch(/^HubSpot: /);
    expect((await contactsInCrm(h)).has(a)).toBe(false);

    h.sandbox.resetFaults();
    const next = await h.run('2026-08-02');
    expect(next.crm).toMatchObject({ sent: 2, failed: 0 });
    await expectCrmMatchesPublished(h);
  });

  it('isolates the one input that makes HubSpot reject a whole batch and sends the rest', async () => {
    h = await makeHarness();
    await h.seed(250);
    const bad = await emailOf(h, 42);
    h.sandbox.setFaults({ rejectBatchEmails: [bad] });
    const result = await h.run('2026-08-01');
    expect(result.crm).toMatchObject({ sent: 249, failed: 1 });
    const [failure] = await h.query<{ lead_id: string; reason: string }>("select lead_id, reason from scoring.crm_sync_failures where kind = 'failed'");
    expect(Number(failure!.lead_id)).toBe(42);
    expect(failure!.reason).toMatch(/^HubSpot 400: /);
    await expectCrmMatchesPublished(h, [42]);
  });

  it('catches by read-back a contact that HubSpot acknowledged but did not store, and resends it', async () => {
    h = await makeHarness({ SCOREFLOW_CRM_VERIFY_SAMPLE: '1000' });
    await h.seed(300);
    const lost = await emailOf(h, 3);
    h.sandbox.setFaults({ dropWriteEmails: [lost] });
    const first = await h.run('2026-08-01');
    expect(first.crm).toMatchObject({ sent: 300, failed: 1, verified: 300 });
    expect(await h.query("select lead_id::int, kind from scoring.crm_sync_failures")).toEqual([{ lead_id: 3, kind: 'verify' }]);
    h.sandbox.resetFaults();
    const next = await h.run('2026-08-02');
    expect(next.crm).toMatchObject({ sent: 1, failed: 0 });
    await expectCrmMatchesPublished(h);
  });

  it('skips leads with no usable email, with the reason, and sends one input per email', async () => {
    h = await makeHarness();
    await h.seed(200);
    await h.query("update public.leads set email = null where lead_id = 7");
    await h.query("update public.leads set email = 'not an email' where lead_id = 8");
    await h.query("update public.leads set email = '  ' || upper(email) || ' ' where lead_id = 10");
    await h.query('update public.leads set email = (select email from public.leads where lead_id = 12) where lead_id = 11');
    const result = await h.run('2026-08-01');
    expect(result.crm).toMatchObject({ sent: 197, skipped: 3 });
    const skipped = await h.query<{ lead_id: number; reason: string }>("select lead_id::int, reason from scoring.crm_sync_failures where kind = 'skipped' order by 1");
    expect(skipped).toEqual([
      { lead_id: 7, reason: 'the lead has no email' },
      { lead_id: 8, reason: 'the email is not a valid address' },
      { lead_id: 11, reason: 'lead 12 has the same email and was sent instead' },
    ]);
    expect((await contactsInCrm(h)).has((await emailOf(h, 10)).trim().toLowerCase())).toBe(true);
  });

  it('fails the stage at once with CrmAuthInvalid on a bad token, after the scores are published', async () => {
    h = await makeHarness({ HUBSPOT_ACCESS_TOKEN: 'pat-na1-not-a-real-token' });
    await h.seed(100);
    const err = (await h.run('2026-08-01').catch((e: unknown) => e)) as WorkflowFailedError;
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const activity = err.cause as ActivityFailure;
    expect(activity.retryState).toBe('NON_RETRYABLE_FAILURE');
    const failure = activity.cause as ApplicationFailure;
    expect(failure.type).toBe('CrmAuthInvalid');
    expect(failure.message).toContain('HubSpot rejected the access token from HUBSPOT_ACCESS_TOKEN');
    expect(failure.message).not.toContain('pat-na1-not-a-real-token');
    const [run] = await h.query('select status, crm_status, error_type, leads_published from scoring.pipeline_runs');
    expect(run).toEqual({ status: 'published', crm_status: 'failed', error_type: 'CrmAuthInvalid', leads_published: 100 });
  });

  it('keeps two workers syncing at once inside one shared budget: the sandbox issues no 429', async () => {
    const limit = 25;
    h = await makeHarness(
      { SCOREFLOW_CRM_RATE_PER_10S: String(limit), SCOREFLOW_CRM_CONCURRENCY: '4', SCOREFLOW_CRM_VERIFY_SAMPLE: '0' },
      // HubSpot limits each app's token; the test reads contacts back with a second app's token.
      { sandbox: { rateLimit: { perTenSeconds: limit, perDay: 100_000 }, tokens: [{ token: SANDBOX_TOKEN, scopes: Object.values(SCOPES) }, { token: 'reader-app', scopes: Object.values(SCOPES) }] } },
    );
    await h.addWorker();
    await h.seed(3500);
    const result = await h.run('2026-08-01');
    expect(result.crm).toMatchObject({ sent: 3500, failed: 0, rateLimited: 0 });
    expect(h.sandbox.stats().rateLimited).toBe(0);
    const [{ slots }] = await h.query<{ slots: number }>(
      "select count(*)::int as slots from scoring.crm_batches where run_id = 'lead-scoring-2026-08-01'",
    ) as [{ slots: number }];
    expect(slots).toBe(35);
    expect(result.crm!.calls).toBeGreaterThan(limit);
    const partitionsByWorker = await h.query<{ n: number }>('select count(distinct partition)::int as n from scoring.crm_batches');
    expect(partitionsByWorker[0]!.n).toBe(4);
    await expectCrmMatchesPublished(h, [], 'reader-app');
  });
});
