import type { Context } from '@temporalio/activity';
import type { ActivityExecuteInput, ActivityInboundCallsInterceptor, Next } from '@temporalio/worker';
import { rows, stageDuration, withPipelineLabel } from '../lib/metrics.js';

/** The stage of each stage activity, as DESIGN.md names them; other activities are labelled with their own name. */
const STAGES: Record<string, string> = {
  extractLeads: 'extract',
  scoreChunk: 'batch-score',
  publishRun: 'store',
  prepareCrmSync: 'crm-sync',
  syncCrmPartition: 'crm-sync',
  finishCrmSync: 'crm-sync',
};

type Counts = Record<string, unknown>;

/** Rows an activity's result reports, as [stage, outcome, count]. */
const ROWS: Record<string, (r: Counts) => Array<[string, string, unknown]>> = {
  extractLeads: (r) => [['extract', 'extracted', r['total']], ['extract', 'rejected', r['duplicates']]],
  scoreChunk: (r) => [['batch-score', 'scored', r['scored']], ['batch-score', 'rejected', r['rejected']]],
  publishRun: (r) => [['store', 'published', r['published']]],
  syncCrmPartition: (r) => [['crm-sync', 'sent', r['sent']], ['crm-sync', 'failed', r['failed']]],
};

const RUN_ID = /^(.+)-\d{4}-\d{2}-\d{2}(-full)?$/;

/** An activity's pipeline: its input's `pipeline`, else the one its run id names (`<pipeline>-<date>`). */
export function pipelineOfInput(input: unknown): string {
  const arg = (input ?? {}) as { pipeline?: unknown; runId?: unknown };
  if (typeof arg.pipeline === 'string') return arg.pipeline;
  const m = typeof arg.runId === 'string' ? RUN_ID.exec(arg.runId) : null;
  return m?.[1] ?? 'unknown';
}

/** Times every activity and counts the rows its result reports, labelled by pipeline and stage (lib/metrics.ts). */
export class MetricsInterceptor implements ActivityInboundCallsInterceptor {
  constructor(private readonly ctx: Context) {}

  execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>): Promise<unknown> {
    const pipeline = pipelineOfInput(input.args[0]);
    return measured(this.ctx.info.activityType, pipeline, () => withPipelineLabel(pipeline, () => next(input)));
  }
}

/** Times `work` as the activity named `activity` and counts the rows its result reports; also for a stage's work done inside another activity. */
export async function measured<T>(activity: string, pipeline: string, work: () => Promise<T>): Promise<T> {
  const stage = STAGES[activity] ?? activity;
  const end = stageDuration.startTimer({ pipeline, stage, activity });
  try {
    const result = await work();
    end({ outcome: 'ok' });
    for (const [s, outcome, n] of ROWS[activity]?.((result ?? {}) as Counts) ?? []) {
      if (typeof n === 'number' && n > 0) rows.inc({ pipeline, stage: s, outcome }, n);
    }
    return result;
  } catch (err) {
    end({ outcome: 'error' });
    throw err;
  }
}
