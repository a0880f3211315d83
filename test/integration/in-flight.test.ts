import { afterEach, describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createScoringActivities, type ExtractResult } from '../../activities/index.js';
import { activityDeps } from '../../workers/worker.js';
import { makeLogger } from '../../lib/logger.js';
import { makeHarness, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('a lead updated while a run is in flight', () => {
  it('keeps the score of the version that was read, and is rescored by the next run', async () => {
    h = await makeHarness();
    await h.seed(600);
    const activities = createScoringActivities(activityDeps({ config: h.config, pool: h.rt.pool, log: makeLogger('warn'), crm: h.rt.crm }));
    const env = new MockActivityEnvironment();
    const run = { runId: 'lead-scoring-2026-06-01', pipeline: 'lead-scoring', asOf: '2026-06-01' };

    const extracted: ExtractResult = await env.run(activities.extractLeads, { ...run, full: false });
    for (let chunk = 0; chunk < extracted.chunks; chunk++) await env.run(activities.scoreChunk, { runId: run.runId, chunk });
    // The lead changes after its chunk was scored but before the run is published.
    await h.query('update public.leads set email_clicks_30d = email_clicks_30d + 9, updated_at = now() where lead_id = 42');
    await env.run(activities.publishRun, run);

    const next = await h.run('2026-06-02');
    expect(next).toMatchObject({ extracted: 1, published: 1 });
    const [row] = await h.query<{ run_id: string; fresh: boolean }>(
      `select s.run_id, s.source_updated_at = l.updated_at as fresh
       from scoring.lead_scores s join public.leads l using (lead_id) where lead_id = 42`,
    );
    expect(row).toEqual({ run_id: 'lead-scoring-2026-06-02', fresh: true });
  });
});
