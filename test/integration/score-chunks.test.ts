import { afterEach, describe, expect, it } from 'vitest';
import { makeHarness, type Harness } from '../support/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('batch-score on chunks of several model slices', () => {
  it('stages every chunk on its first attempt while the staging COPY waits on its socket, every lead scored once', async () => {
    // 12,000 leads a chunk: three slices in the scoring thread and about a megabyte of staged rows, more than a socket takes at once.
    h = await makeHarness({ SCOREFLOW_CHUNK_SIZE: '12000' });
    await h.seed(24_000, { seed: 3 });
    const result = await h.run('2026-10-09');

    expect(result).toMatchObject({ extracted: 24_000, chunks: 2, scored: 24_000, rejected: 0, published: 24_000 });
    const history = await h.rt.temporal!.client.workflow.getHandle(result.runId).fetchHistory();
    const attempts = (history.events ?? []).flatMap((e) => (e.activityTaskStartedEventAttributes ? [e.activityTaskStartedEventAttributes.attempt ?? 1] : []));
    expect(attempts.length).toBeGreaterThan(2);
    expect(attempts.filter((a) => a > 1)).toEqual([]);
    const [staged] = await h.query<{ n: number; leads: number }>('select count(*)::int as n, count(distinct lead_id)::int as leads from scoring.lead_score_history');
    expect(staged).toEqual({ n: 24_000, leads: 24_000 });
  });
});
