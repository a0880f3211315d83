import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordFailure, reopenFailedCrmStage } from '../../activities/sql/runs.js';
import { makeHarness, type Harness } from '../support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await makeHarness({}, { worker: false });
});
afterAll(async () => {
  await h?.close();
});

const failure = (runId: string) => ({
  runId, pipeline: 'lead-scoring', asOf: '2026-09-01', temporalRunId: 'execution-2', errorType: 'CrmAuthInvalid', message: 'HubSpot rejected the access token', scoreflowVersion: 'test',
});

/** A published run whose CRM stage is in `crmStatus`, planned (started) or not. */
async function publishedRun(runId: string, crmStatus: string | null, planned: boolean): Promise<void> {
  await recordFailure(h.rt.pool, { ...failure(runId), errorType: 'Setup', message: 'creates the row' });
  await h.query(
    `update scoring.pipeline_runs set status = 'published', error_type = null, error_message = null, crm_status = $2,
       crm_started_at = case when $3::boolean then now() end where run_id = $1`,
    [runId, crmStatus, planned],
  );
}

const crmStatus = async (runId: string) =>
  (await h.query<{ status: string; crm_status: string | null }>('select status, crm_status from scoring.pipeline_runs where run_id = $1', [runId]))[0];

describe('the audit row of a run whose CRM stage fails', () => {
  it('marks a stage that was sending failed, and sending again when the stage runs again', async () => {
    await publishedRun('run-sending', 'sending', true);
    await recordFailure(h.rt.pool, failure('run-sending'));
    expect(await crmStatus('run-sending')).toEqual({ status: 'published', crm_status: 'failed' });
    await reopenFailedCrmStage(h.rt.pool, 'run-sending');
    expect(await crmStatus('run-sending')).toEqual({ status: 'published', crm_status: 'sending' });
  });

  it('marks a stage that failed before planning failed, and lets it plan when it runs again', async () => {
    await publishedRun('run-unplanned', null, false);
    await recordFailure(h.rt.pool, failure('run-unplanned'));
    expect(await crmStatus('run-unplanned')).toEqual({ status: 'published', crm_status: 'failed' });
    await reopenFailedCrmStage(h.rt.pool, 'run-unplanned');
    expect(await crmStatus('run-unplanned')).toEqual({ status: 'published', crm_status: null });
  });

  it('keeps the outcome of a finished stage, and leaves an unpublished run\'s CRM status alone', async () => {
    await publishedRun('run-synced', 'synced', true);
    await recordFailure(h.rt.pool, failure('run-synced'));
    expect(await crmStatus('run-synced')).toEqual({ status: 'published', crm_status: 'synced' });
    await recordFailure(h.rt.pool, failure('run-unpublished'));
    expect(await crmStatus('run-unpublished')).toEqual({ status: 'failed', crm_status: null });
  });
});
