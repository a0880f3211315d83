import { activityInfo } from '@temporalio/activity';
import { SCOREFLOW_VERSION } from '../lib/version.js';
import type { ActivityDeps, RunRef } from './deps.js';
import { recordFailure } from './sql/runs.js';

export interface RunFailure extends RunRef {
  errorType: string;
  message: string;
}

/** Marks the run failed on its audit row with the error's type and message (a published run stays published). */
export function makeRecordRunFailure(deps: ActivityDeps) {
  return async function recordRunFailure(f: RunFailure): Promise<void> {
    await recordFailure(deps.pool, {
      ...f,
      temporalRunId: activityInfo().workflowExecution?.runId ?? '',
      scoreflowVersion: SCOREFLOW_VERSION,
    });
  };
}
