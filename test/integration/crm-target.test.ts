import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '@hubspot/api-client';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createScoringActivities } from '../../activities/index.js';
import { activityDeps } from '../../workers/worker.js';
import { makeLogger } from '../../lib/logger.js';
import { startSandbox, SANDBOX_TOKEN, type Sandbox } from '../../sandbox/server.js';
import { leadScoringWorkflow } from '../../workflows/lead-scoring.js';
import { makeHarness, type Harness } from '../support/harness.js';

let h: Harness | undefined;
let other: Sandbox | undefined;
afterEach(async () => {
  await h?.close();
  await other?.stop();
  h = undefined;
  other = undefined;
});

/** Each contact's lead_score in one sandbox, by email, read through HubSpot's API. */
async function scoresIn(sandbox: Sandbox): Promise<Map<string, string | null | undefined>> {
  const client = new Client({ accessToken: SANDBOX_TOKEN, basePath: sandbox.url, numberOfApiCallRetries: 0 });
  const scores = new Map<string, string | null | undefined>();
  let after: string | undefined;
  do {
    const page = await client.crm.contacts.basicApi.getPage(100, after, ['email', 'lead_score']);
    for (const c of page.results) scores.set(c.properties['email']!, c.properties['lead_score']);
    after = page.paging?.next?.after;
  } while (after);
  return scores;
}

describe('the CRM target a run sends to', () => {
  it('after a change of portal sends every contact the new portal has not accepted, keeping each portal’s state apart', async () => {
    h = await makeHarness({ SCOREFLOW_CRM_SYNC_MODE: 'upsert' }, { sandbox: { portalId: 1 } });
    await h.seed(300);
    const first = await h.run('2024-05-01');
    expect(first.crm).toMatchObject({ sent: 300, failed: 0 });

    // The operator points the workers at another portal: a second sandbox with its own contacts and portal id.
    other = await startSandbox({ port: 0, databaseUrl: h.config.database.url!, schema: 'hubspot_sandbox_b', portalId: 2, log: makeLogger('warn') });
    await h.replaceWorkers({ kind: 'hubspot', baseUrl: other.url, token: SANDBOX_TOKEN, tokenSource: 'HUBSPOT_ACCESS_TOKEN' });
    const next = await h.run('2024-05-02');
    expect(next).toMatchObject({ extracted: 0, crm: { sent: 300, unchanged: 0, failed: 0 } });
    expect((await scoresIn(other)).size).toBe(300);

    expect(await h.query('select target, count(*)::int as contacts from scoring.crm_sync_state group by 1 order by 1')).toEqual([
      { target: 'hubspot:1', contacts: 300 },
      { target: 'hubspot:2', contacts: 300 },
    ]);
    expect(await h.query('select run_id, crm_target from scoring.pipeline_runs order by 1')).toEqual([
      { run_id: 'lead-scoring-2024-05-01', crm_target: 'hubspot:1' },
      { run_id: 'lead-scoring-2024-05-02', crm_target: 'hubspot:2' },
    ]);

    const upserts = other.stats().upsertCalls;
    const again = await h.run('2024-05-03');
    expect(again.crm).toMatchObject({ sent: 0, unchanged: 300 });
    expect(other.stats().upsertCalls).toBe(upserts);
  });

  it('is none with SCOREFLOW_CRM=off: a run with the CRM stage records crm_status off and calls nobody, and `run` leaves the stage out', async () => {
    h = await makeHarness({ SCOREFLOW_CRM: 'off' });
    await h.seed(200);
    // As the schedule starts it: the workflow's CRM stage on, the worker's CRM off.
    const scheduled = await h.rt.temporal!.client.workflow.execute(leadScoringWorkflow, {
      taskQueue: h.config.temporal.taskQueue, workflowId: 'lead-scoring-2024-05-11', args: [{ asOf: '2024-05-11', crmSync: true }],
    });
    expect(scheduled).toMatchObject({ published: 200, crm: { sent: 0, unchanged: 0, failed: 0, calls: 0 } });
    expect(await h.query('select crm_status, crm_target from scoring.pipeline_runs')).toEqual([{ crm_status: 'off', crm_target: null }]);

    const run = await h.run('2024-05-12');
    expect(run.crm).toBeUndefined();
    expect(h.sandbox.stats().requests).toBe(0);
    expect(await h.query('select count(*)::int as n from scoring.crm_outbox')).toEqual([{ n: 0 }]);
  });

  it('is never sent to by a worker pointed at another portal: that worker’s partition fails with CrmTargetMismatch and sends nothing', async () => {
    h = await makeHarness({ SCOREFLOW_CRM_SYNC_MODE: 'upsert' }, { sandbox: { portalId: 1 } });
    await h.seed(250);
    await h.run('2024-05-31', { crm: false });
    other = await startSandbox({ port: 0, databaseUrl: h.config.database.url!, schema: 'hubspot_sandbox_b', portalId: 2, log: makeLogger('warn') });
    const log = makeLogger('warn');
    const planner = createScoringActivities(activityDeps({ config: h.config, pool: h.rt.pool, log, crm: h.rt.crm }));
    const elsewhere = createScoringActivities(activityDeps({
      config: h.config, pool: h.rt.pool, log, crm: { kind: 'hubspot', baseUrl: other.url, token: SANDBOX_TOKEN, tokenSource: 'HUBSPOT_ACCESS_TOKEN' },
    }));
    const env = new MockActivityEnvironment();
    const run = { runId: 'lead-scoring-2024-05-31', pipeline: 'lead-scoring', asOf: '2024-05-31' };

    expect(await env.run(planner.prepareCrmSync, run)).toMatchObject({ contacts: 250 });
    const err = (await env.run(elsewhere.syncCrmPartition, { runId: run.runId, partition: 0 }).catch((e: unknown) => e)) as ApplicationFailure;
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err.type).toBe('CrmTargetMismatch');
    expect(err.nonRetryable).toBe(false);
    expect(err.message).toContain('planned for the CRM hubspot:1, but this worker sends to hubspot:2');
    expect(other.stats().upsertCalls).toBe(0);
    expect(await h.query('select count(*)::int as n from scoring.crm_sync_state')).toEqual([{ n: 0 }]);

    expect(await env.run(planner.syncCrmPartition, { runId: run.runId, partition: 0 })).toMatchObject({ sent: 100 });
  });

  it('is read once per run from the account-info endpoint, which the sandbox answers like HubSpot', async () => {
    h = await makeHarness({ SCOREFLOW_CRM_SYNC_MODE: 'upsert' }, { sandbox: { portalId: 424242 } });
    await h.seed(250);
    await h.run('2024-05-21');
    expect(h.sandbox.stats().byOperation['accountInfo.details']).toBe(1);
    expect(await h.query('select crm_target from scoring.pipeline_runs')).toEqual([{ crm_target: 'hubspot:424242' }]);

    const res = await fetch(`${h.sandbox.url}/account-info/v3/details`, { headers: { authorization: `Bearer ${SANDBOX_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ portalId: 424242, accountType: expect.any(String), timeZone: expect.any(String), uiDomain: expect.any(String) });
    expect(res.headers.get('x-hubspot-ratelimit-remaining')).not.toBeNull();
    expect((await fetch(`${h.sandbox.url}/account-info/v3/details`)).status).toBe(401);
  });
});
