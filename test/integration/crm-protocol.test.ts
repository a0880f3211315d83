import { afterEach, describe, expect, inject, it } from 'vitest';
import { WorkflowFailedError, type ActivityFailure, type ApplicationFailure } from '@temporalio/client';
import { CONTACT_PROPERTIES, PROPERTY_GROUP, crmScore } from '../../activities/crm/contact-properties.js';
import { NOT_IN_CRM_REASON } from '../../activities/crm/send-contacts.js';
import { makeLogger } from '../../lib/logger.js';
import { addSandboxContacts, SANDBOX_TOKEN } from '../../sandbox/server.js';
import { createScoringWorker } from '../../workers/worker.js';
import { makeHarness, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** A HubSpot API call to the test's sandbox with the app's token, as an admin in HubSpot's UI would make. */
async function hubspot(h: Harness, method: string, path: string, body?: unknown): Promise<number> {
  const res = await fetch(`${h.sandbox.url}${path}`, {
    method, headers: { Authorization: `Bearer ${SANDBOX_TOKEN}`, 'Content-Type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  await res.text();
  return res.status;
}

/** The typed failure a run ended with, and how Temporal left the activity that raised it. */
async function failureOf(run: Promise<unknown>): Promise<{ type: string | undefined; message: string; retryState: unknown }> {
  const err = await run.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const activity = (err as WorkflowFailedError).cause as ActivityFailure;
  const failure = activity.cause as ApplicationFailure;
  return { type: failure.type ?? undefined, message: failure.message, retryState: activity.retryState };
}

/** Creates scoreflow's property group and properties in the sandbox, as a first run would have. */
async function createScoreflowProperties(h: Harness): Promise<void> {
  expect(await hubspot(h, 'POST', '/crm/v3/properties/contacts/groups', { name: PROPERTY_GROUP, label: 'scoreflow lead scoring' })).toBe(201);
  for (const p of CONTACT_PROPERTIES) expect(await hubspot(h, 'POST', '/crm/v3/properties/contacts', { ...p, groupName: PROPERTY_GROUP })).toBe(201);
}

describe('the CRM stage speaking HubSpot’s protocol', () => {
  it('in update mode writes only the contacts HubSpot has, creates none, and records the others as not in HubSpot each run', async () => {
    h = await makeHarness({ SCOREFLOW_CRM_SYNC_MODE: 'update', SCOREFLOW_CRM_VERIFY_SAMPLE: '50' });
    await h.seed(300);
    const known = await h.query<{ email: string }>('select lower(btrim(email)) as email from public.leads where lead_id % 10 <> 0');
    await addSandboxContacts(h.rt.pool, known.map((r) => r.email));

    const first = await h.run('2026-12-01');
    expect(first.crm).toMatchObject({ sent: 270, notInCrm: 30, failed: 0, skipped: 0, verified: 50 });
    expect(h.sandbox.stats().byOperation['contacts.batchUpsert']).toBeUndefined();
    const [{ contacts }] = await h.query<{ contacts: number }>('select count(*)::int as contacts from hubspot_sandbox.contacts') as [{ contacts: number }];
    expect(contacts).toBe(270);
    const updated = await h.query<{ email: string; lead_score: string }>(
      `select c.email, c.properties->>'lead_score' as lead_score from hubspot_sandbox.contacts c order by 1 limit 1`,
    );
    const [published] = await h.query<{ score: number }>('select s.score from scoring.lead_scores s join public.leads l using (lead_id) where lower(btrim(l.email)) = $1', [updated[0]!.email]);
    expect(updated[0]!.lead_score).toBe(crmScore(published!.score));
    const notFound = await h.query<{ lead_id: number; kind: string; reason: string }>(
      "select lead_id::int, kind, reason from scoring.crm_sync_failures where run_id = 'lead-scoring-2026-12-01' and reason = $1 order by 1", [NOT_IN_CRM_REASON],
    );
    expect(notFound.map((r) => r.lead_id)).toEqual(Array.from({ length: 30 }, (_, i) => (i + 1) * 10));
    expect(notFound.every((r) => r.kind === 'skipped')).toBe(true);
    expect(await h.query("select crm_status, crm_not_found, crm_skipped from scoring.pipeline_runs where run_id = 'lead-scoring-2026-12-01'"))
      .toEqual([{ crm_status: 'synced', crm_not_found: 30, crm_skipped: 0 }]);

    const second = await h.run('2026-12-02');
    expect(second.crm).toMatchObject({ sent: 0, unchanged: 270, notInCrm: 30 });
  });

  it('takes a slot of the shared budget for every HTTP attempt: requests HubSpot received = calls recorded = rows in crm_rate_log', async () => {
    h = await makeHarness({ SCOREFLOW_CRM_VERIFY_SAMPLE: '200' });
    await h.seed(1000);
    h.sandbox.setFaults({ force5xx: 4, force429: 3 });
    const result = await h.run('2026-12-01');
    const received = h.sandbox.stats();
    h.sandbox.resetFaults();
    expect(result.crm).toMatchObject({ sent: 1000, failed: 0 });
    expect(received.serverErrors).toBe(4);
    expect(received.rateLimited).toBe(3);
    const [counts] = await h.query<{ calls: number; logged: number; daily: number; rate_limited: number }>(
      `select (select sum(crm_calls)::int from scoring.pipeline_runs) as calls, (select sum(crm_rate_limited)::int from scoring.pipeline_runs) as rate_limited,
              (select count(*)::int from scoring.crm_rate_log) as logged, (select sum(calls)::int from scoring.crm_daily_usage) as daily`,
    );
    expect(counts).toEqual({ calls: received.requests, logged: received.requests, daily: received.requests, rate_limited: 3 });
  });

  it('counts the attempts of a stage attempt that gave up: the target read exhausts its retries, Temporal retries the stage, every request is on the run', async () => {
    h = await makeHarness();
    await h.seed(300);
    // Three 429s, then five 5xx: more than a call's four retries, so the first prepare attempt throws CrmUnavailable.
    h.sandbox.setFaults({ force429: 3, force5xx: 5 });
    const result = await h.run('2026-12-01');
    const received = h.sandbox.stats();
    h.sandbox.resetFaults();
    expect(result.crm).toMatchObject({ sent: 300, failed: 0, rateLimited: 3 });
    expect(received.serverErrors).toBe(5);
    const [run] = await h.query<{ crm_calls: number; crm_rate_limited: number }>('select crm_calls, crm_rate_limited from scoring.pipeline_runs');
    expect(run).toEqual({ crm_calls: received.requests, crm_rate_limited: 3 });
    expect(await h.query('select count(*)::int as logged from scoring.crm_rate_log')).toEqual([{ logged: received.requests }]);
  });

  it('fails the stage at once with CrmPropertyInvalid when a scoreflow property was archived in HubSpot, after a handful of calls', async () => {
    h = await makeHarness();
    await h.seed(500);
    await createScoreflowProperties(h);
    expect(await hubspot(h, 'DELETE', '/crm/v3/properties/contacts/lead_score_bucket')).toBe(204);
    h.sandbox.resetStats();

    const failure = await failureOf(h.run('2026-12-01'));
    expect(failure.type).toBe('CrmPropertyInvalid');
    expect(failure.retryState).toBe('NON_RETRYABLE_FAILURE');
    expect(failure.message).toContain('lead_score_bucket');
    expect(failure.message).toContain('PROPERTY_DOESNT_EXIST');
    // One batch per partition at most (four run at once), not the ~200 calls per 100 contacts of splitting.
    expect(h.sandbox.stats().byOperation['contacts.batchUpsert']).toBeLessThanOrEqual(4);
    expect(h.sandbox.stats().requests).toBeLessThanOrEqual(10);
    const [run] = await h.query('select status, error_type, crm_calls from scoring.pipeline_runs');
    // The calls of batches that got no usable answer are counted on the run too.
    expect(run).toEqual({ status: 'published', error_type: 'CrmPropertyInvalid', crm_calls: h.sandbox.stats().requests });
  });

  it('stops with CrmPropertyConflict naming a same-named property of another type, and writes nothing into it', async () => {
    h = await makeHarness();
    await h.seed(200);
    expect(await hubspot(h, 'POST', '/crm/v3/properties/contacts', {
      name: 'lead_score', label: 'Lead score (sales ops)', type: 'string', fieldType: 'text', groupName: 'contactinformation',
    })).toBe(201);

    const failure = await failureOf(h.run('2026-12-01'));
    expect(failure.type).toBe('CrmPropertyConflict');
    expect(failure.retryState).toBe('NON_RETRYABLE_FAILURE');
    expect(failure.message).toContain('lead_score is type string (field type text) in group contactinformation');
    expect(failure.message).toContain('needs type number (field type number) in group scoreflow');
    expect(h.sandbox.stats().upsertCalls + h.sandbox.stats().updateCalls).toBe(0);
  });

  it('fails at once with CrmEndpointNotFound, not retried, when HUBSPOT_BASE_URL points at something that answers 404', async () => {
    h = await makeHarness({}, { worker: false });
    const crm = { ...h.rt.crm!, baseUrl: `${h.sandbox.url}/not-hubspot` };
    const log = makeLogger('warn', 'test');
    const { worker, connection } = await createScoringWorker({
      config: h.config, pool: h.rt.pool, log, address: h.rt.temporal!.address, crm, workflowBundle: { codePath: inject('workflowBundlePath') },
    });
    const running = worker.run();
    try {
      await h.seed(100);
      const failure = await failureOf(h.run('2026-12-01'));
      expect(failure.type).toBe('CrmEndpointNotFound');
      expect(failure.retryState).toBe('NON_RETRYABLE_FAILURE');
      expect(failure.message).toContain('HUBSPOT_BASE_URL');
      expect(h.sandbox.stats().requests).toBe(1);
    } finally {
      worker.shutdown();
      await running;
      await connection.close();
    }
  });
});
