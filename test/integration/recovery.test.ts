import { afterEach, describe, expect, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { SANDBOX_TOKEN } from '../../sandbox/server.js';
import { resetAfterLastCompletedStep } from '../../workers/reset.js';
import { startRun } from '../../workers/run-pipeline.js';
import { makeHarness, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** How many times each activity was scheduled in an execution's history. */
async function scheduledActivities(h: Harness, workflowId: string, runId?: string): Promise<Record<string, number>> {
  const history = await h.rt.temporal!.client.workflow.getHandle(workflowId, runId).fetchHistory();
  const counts: Record<string, number> = {};
  for (const e of history.events ?? []) {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

/** A run that fails in the CRM stage on a bad token, after its scores are published. */
async function failOnBadToken(): Promise<Harness> {
  const harness = await makeHarness({ HUBSPOT_ACCESS_TOKEN: 'pat-na1-revoked' });
  await harness.seed(900);
  const err = await harness.run('2026-10-01').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return harness;
}

async function expectRecovered(h: Harness): Promise<void> {
  const [run] = await h.query('select status, error_type, leads_published, crm_status, crm_sent from scoring.pipeline_runs');
  expect(run).toEqual({ status: 'published', error_type: null, leads_published: 900, crm_status: 'synced', crm_sent: 900 });
  expect(await h.query('select count(*)::int as n, count(distinct lead_id)::int as leads from scoring.lead_score_history')).toEqual([{ n: 900, leads: 900 }]);
  expect(await h.query('select count(*)::int as n from scoring.crm_sync_state')).toEqual([{ n: 900 }]);
}

describe('recovering a failed run after the operator fixes the cause', () => {
  it('by resetting the workflow to after its last completed step: finished stages are not run again', async () => {
    h = await failOnBadToken();
    await h.replaceWorkers(SANDBOX_TOKEN);

    const reset = await resetAfterLastCompletedStep(h.rt, 'lead-scoring-2026-10-01');
    expect(reset.afterActivity).toBe('publishRun');
    const result = await h.rt.temporal!.client.workflow.getHandle('lead-scoring-2026-10-01', reset.runId).result();

    expect(result.crm).toMatchObject({ sent: 900, failed: 0 });
    const counts = await scheduledActivities(h, 'lead-scoring-2026-10-01', reset.runId);
    expect(counts).toMatchObject({ extractLeads: 1, scoreChunk: 3, publishRun: 1, prepareCrmSync: 1, finishCrmSync: 1 });
    await expectRecovered(h);
  });

  it('by rerunning the date: earlier stages find their work done and change nothing', async () => {
    h = await failOnBadToken();
    const historyBefore = await h.query('select * from scoring.lead_score_history order by lead_id');
    await h.replaceWorkers(SANDBOX_TOKEN);

    const handle = await startRun(h.rt, { asOf: '2026-10-01', full: false });
    const result = await handle.result();

    expect(result).toMatchObject({ extracted: 900, published: 900, crm: { sent: 900, failed: 0 } });
    expect(await h.query('select * from scoring.lead_score_history order by lead_id')).toEqual(historyBefore);
    await expectRecovered(h);
  });
});
