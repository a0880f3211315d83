import { describe, expect, it } from 'vitest';
import { pipelineOfInput } from '../../activities/metrics-interceptor.js';
import { runsWithMissed } from '../../workers/runs-command.js';
import type { RunReport } from '../../db/reports.js';

describe('metric labels', () => {
  it("take an activity's pipeline from its input, else from its run id, whatever dashes the pipeline's id has", () => {
    expect(pipelineOfInput({ pipeline: 'product-recs', runId: 'x-2026-01-01' })).toBe('product-recs');
    expect(pipelineOfInput({ runId: 'product-recs-2026-11-23', partition: 0 })).toBe('product-recs');
    expect(pipelineOfInput({ runId: 'lead-scoring-2026-11-23-full' })).toBe('lead-scoring');
    expect(pipelineOfInput(undefined)).toBe('unknown');
  });
});

describe('scoreflow runs', () => {
  it('lists missed scheduled times among the runs, newest first', () => {
    const run = { run_id: 'lead-scoring-2026-11-24', status: 'published', started_at: new Date('2026-11-24T06:00:05Z') } as RunReport;
    const list = runsWithMissed({
      runs: [run],
      gaps: { scheduleId: 'lead-scoring-daily', paused: false, skippedOverlap: 0, missedCatchupWindow: 0, missed: [
        { scheduledAt: new Date('2026-11-25T06:00:00Z'), asOf: '2026-11-25', runId: 'lead-scoring-2026-11-25' },
        { scheduledAt: new Date('2026-11-23T06:00:00Z'), asOf: '2026-11-23', runId: 'lead-scoring-2026-11-23' },
      ] },
    });
    expect(list.map((r) => [r.run_id, r.status])).toEqual([
      ['lead-scoring-2026-11-25', 'missed'], ['lead-scoring-2026-11-24', 'published'], ['lead-scoring-2026-11-23', 'missed'],
    ]);
  });
});
