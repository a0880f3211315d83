import { afterEach, describe, expect, it } from 'vitest';
import { WorkflowNotFoundError } from '@temporalio/client';
import { makeHarness, type Harness } from '../support/harness.js';
import { createOrUpdateSchedule, describeSchedule, scheduleHandle } from '../../workers/schedule.js';
import { today } from '../../workers/dates.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('the daily schedule', () => {
  it('is created idempotently with its cron and time zone, and a triggered run scores the day under lead-scoring-<date>', async () => {
    h = await makeHarness({ SCOREFLOW_SCHEDULE_CRON: '30 5 * * 1-5', SCOREFLOW_SCHEDULE_TIMEZONE: 'Europe/Berlin' });
    await h.seed(300);
    expect(await createOrUpdateSchedule(h.rt)).toBe('created');
    expect(await createOrUpdateSchedule(h.rt)).toBe('updated');
    try {
      const described = await describeSchedule(h.rt);
      expect(described).toMatchObject({ paused: false, timezone: 'Europe/Berlin' });
      expect(described.nextRuns.length).toBeGreaterThan(0);
      const raw = await scheduleHandle(h.rt).describe();
      expect(raw.policies.overlap).toBe('SKIP');

      await scheduleHandle(h.rt).trigger();
      const workflowId = `lead-scoring-${today('Europe/Berlin')}`;
      const result = await waitForResult(h, workflowId);

      expect(result).toMatchObject({ runId: workflowId, extracted: 300, published: 300 });
      const counted = await h.query<{ n: number }>('select count(*)::int as n from scoring.lead_scores where run_id = $1', [workflowId]);
      expect(counted[0]!.n).toBe(300);

      await scheduleHandle(h.rt).pause('maintenance');
      expect(await describeSchedule(h.rt)).toMatchObject({ paused: true, note: 'maintenance' });
      await scheduleHandle(h.rt).unpause();
      expect((await describeSchedule(h.rt)).paused).toBe(false);
    } finally {
      await scheduleHandle(h.rt).delete();
    }
  });
});

async function waitForResult(h: Harness, workflowId: string): Promise<unknown> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await h.rt.temporal!.client.workflow.getHandle(workflowId).result();
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError) || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
