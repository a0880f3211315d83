import { afterEach, describe, expect, it } from 'vitest';
import { WorkflowNotFoundError } from '@temporalio/client';
import { makeHarness, type Harness } from '../support/harness.js';
import { createOrUpdateSchedule, describeSchedule, scheduleHandle } from '../../workers/schedule.js';
import { today } from '../../workers/dates.js';
import { cliEnv, scoreflow } from '../support/scoreflow-cli.js';

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

  it('runs the product recommender from one schedule on Mondays 13:00 and Fridays 08:00 in its time zone, as `schedule describe --pipeline product-recs` shows', async () => {
    h = await makeHarness({ SCOREFLOW_RECS_TIMEZONE: 'America/New_York' });
    const env = { ...cliEnv(h), SCOREFLOW_RECS_TIMEZONE: 'America/New_York' };
    expect(await scoreflow(['schedule', 'create', '--pipeline', 'product-recs'], env)).toMatchObject({ code: 0, stdout: 'created schedule: Mon 13:00, Fri 08:00 in America/New_York\n' });
    try {
      const raw = await scheduleHandle(h.rt, 'product-recs').describe();
      expect(raw.spec.calendars).toHaveLength(2);
      expect(raw.spec.timezone).toBe('America/New_York');
      expect(raw.policies.overlap).toBe('SKIP');

      const described = await scoreflow(['schedule', 'describe', '--pipeline', 'product-recs', '--json'], env);
      expect(described.code).toBe(0);
      const d = JSON.parse(described.stdout) as { scheduleId: string; calendars: string[]; nextRuns: string[] };
      expect(d).toMatchObject({ scheduleId: 'product-recs-schedule', calendars: ['Mon 13:00', 'Fri 08:00'] });
      // The next times, read in New York: Monday afternoons and Friday mornings, alternating, nothing else.
      const local = d.nextRuns.map((at) => new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(at)));
      expect(local.length).toBeGreaterThanOrEqual(4);
      for (const at of local) expect(['Mon 13:00', 'Fri 08:00']).toContain(at);
      for (let i = 1; i < local.length; i++) expect(local[i]).not.toBe(local[i - 1]);
    } finally {
      await scheduleHandle(h.rt, 'product-recs').delete();
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
