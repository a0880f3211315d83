import { ActivityFailure, ApplicationFailure, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { RunRef, ScoringActivities } from '../activities/index.js';
import { AUDIT_RECORD } from './stage-options.js';

const { recordRunFailure, recordRunCancelled } = proxyActivities<ScoringActivities>(AUDIT_RECORD);

/** Records a cancelled run with who/why, or a failed one with its error type. */
export async function recordOutcome(run: RunRef, err: unknown): Promise<void> {
  if (isCancellation(err)) await recordRunCancelled(run);
  else await recordFailure(run, err);
}

/** Records a failed run with its error type and message (runs recorded before cancellations were recorded use this alone). */
export async function recordFailure(run: RunRef, err: unknown): Promise<void> {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  const errorType = cause instanceof ApplicationFailure ? (cause.type ?? 'Error') : (cause as Error).name;
  await recordRunFailure({ ...run, errorType, message: (cause as Error).message });
}
