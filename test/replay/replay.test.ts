import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeterminismViolationError } from '@temporalio/workflow';
import { Worker } from '@temporalio/worker';
import { sourceOrBuilt, PROJECT_ROOT } from '../../lib/paths.js';
import { installTemporalLogging } from '../../workers/temporal-logging.js';

installTemporalLogging(process.env['LOG_LEVEL'], false);

interface HistoryEvent {
  eventType: string;
  activityTaskStartedEventAttributes?: { attempt?: number };
}

const dir = path.join(PROJECT_ROOT, 'test', 'histories');
const histories = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((file) => ({ file, history: JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as unknown }));

async function replayAll(workflowsPath: string) {
  const results: Array<{ file: string; error?: Error }> = [];
  const source = histories.map(({ file, history }) => ({ workflowId: file, history }));
  for await (const r of Worker.runReplayHistories({ workflowsPath }, source)) results.push({ file: r.workflowId, error: r.error });
  return results;
}

describe('recorded workflow histories', () => {
  it('include a success, a failure, a reset, retried activities, a cancel, a scheduled launch, a scheduled run, the CRM stage, a recommender run, one with search attributes and activity summaries, a challenger, a run without one (no challenger activity), a rollback, a run held at the quality gate and approved, one that passed it, judged and published by one activity, a morning of one chunk scored by extract, and one also judged and published there', () => {
    expect(histories.map((h) => h.file).sort()).toEqual([
      'lead-scoring-cancelled-mid-scoring.json',
      'lead-scoring-failed-source-missing.json',
      'lead-scoring-from-schedule-nothing-new.json',
      'lead-scoring-gate-passed-published-at-once.json',
      'lead-scoring-gated-approved.json',
      'lead-scoring-morning-in-one-chunk.json',
      'lead-scoring-morning-published-at-extract.json',
      'lead-scoring-reset-after-bad-token.json',
      'lead-scoring-rollback.json',
      'lead-scoring-success-7-chunks.json',
      'lead-scoring-with-challenger.json',
      'lead-scoring-with-crm-sync.json',
      'lead-scoring-without-challenger.json',
      'lead-scoring-worker-killed-retried.json',
      'product-recs-success-3-chunks.json',
      'product-recs-with-search-attributes.json',
      'scheduled-launcher.json',
    ]);
    const events = (file: string) => (histories.find((h) => h.file === file)!.history as { events: HistoryEvent[] }).events;
    // Held at the quality gate: the run waited for the decide signal, then published.
    expect(events('lead-scoring-gated-approved.json').map((e) => e.eventType)).toEqual(
      expect.arrayContaining(['EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED', 'EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED']),
    );
    // The killed worker's chunk was retried on the new worker; the reset run starts with a reset workflow task.
    expect(events('lead-scoring-worker-killed-retried.json').some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1)).toBe(true);
    expect(events('lead-scoring-reset-after-bad-token.json').some((e) => e.eventType === 'EVENT_TYPE_WORKFLOW_TASK_FAILED')).toBe(true);
    // The challenger's stage (patch challenger-shadow) scored every chunk in shadow; the rollback is a workflow of its own.
    const activities = (file: string) => events(file).map((e) => (e as { activityTaskScheduledEventAttributes?: { activityType?: { name?: string } } })
      .activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
    expect(activities('lead-scoring-with-challenger.json').filter((a) => a === 'shadowScoreChunk')).toHaveLength(3);
    // Extract says there is no challenger (patch challenger-from-extract): the run asks pinChallenger nothing.
    expect(activities('lead-scoring-without-challenger.json')).toEqual(['extractLeads', 'scoreChunk', 'scoreChunk', 'scoreChunk', 'evaluateGate', 'publishRun']);
    // The gate passed: the store stage judged and published the run in one activity (patch publish-with-gate).
    expect(activities('lead-scoring-gate-passed-published-at-once.json')).toEqual(['extractLeads', 'scoreChunk', 'scoreChunk', 'scoreChunk', 'publishRun']);
    // A morning of one chunk: extract scored it (patch score-single-chunk-at-extract).
    expect(activities('lead-scoring-morning-in-one-chunk.json')).toEqual(['extractLeads', 'publishRun']);
    // And judged and published there too (patch publish-single-chunk-at-extract).
    expect(activities('lead-scoring-morning-published-at-extract.json')).toEqual(['extractLeads']);
    expect(activities('lead-scoring-rollback.json')).toEqual(expect.arrayContaining(['rollbackRun', 'prepareCrmSync', 'finishCrmSync']));
    // Cancelled mid-scoring: the chunk in flight was cancelled, and the run closed as cancelled after recording it.
    expect(events('lead-scoring-cancelled-mid-scoring.json').map((e) => e.eventType)).toEqual(
      expect.arrayContaining(['EVENT_TYPE_ACTIVITY_TASK_CANCELED', 'EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED']),
    );
  });

  it('replay against the current workflow code without non-determinism', async () => {
    const results = await replayAll(sourceOrBuilt('workflows/index.ts'));
    expect(results.map((r) => [r.file, r.error?.message])).toEqual(histories.map((h) => [h.file, undefined]));
  });

  it('catch a workflow change that reorders the stages', async () => {
    const results = await replayAll(path.join(PROJECT_ROOT, 'test', 'replay', 'fixtures', 'stages-reordered.ts'));
    const success = results.find((r) => r.file === 'lead-scoring-success-7-chunks.json')!;
    expect(success.error).toBeInstanceOf(DeterminismViolationError);
  });
});
