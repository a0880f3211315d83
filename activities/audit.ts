import { activityInfo, Context } from '@temporalio/activity';
import { SCOREFLOW_VERSION } from '../lib/version.js';
import type { ActivityDeps, RunRef } from './deps.js';
import { recordCancellation, recordFailure } from './sql/runs.js';

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

/** Who asked to cancel a workflow and why, as Temporal recorded the request (identity and reason). */
export interface CancelRequest {
  by: string | null;
  reason: string | null;
}

/**
 * Marks the run cancelled with who asked and why, read from the cancel request in the workflow's
 * history (the Web UI and `scoreflow cancel` both leave an identity there; a parent workflow leaves its id).
 */
export function makeRecordRunCancelled(deps: ActivityDeps) {
  return async function recordRunCancelled(ref: RunRef): Promise<CancelRequest> {
    const execution = activityInfo().workflowExecution;
    const request = await cancelRequestOf(execution).catch((err: Error) => {
      deps.log.warn({ runId: ref.runId, err: err.message }, 'could not read who cancelled the run');
      return { by: null, reason: null };
    });
    await recordCancellation(deps.pool, {
      ...ref,
      temporalRunId: execution?.runId ?? '',
      cancelledBy: request.by,
      reason: request.reason,
      scoreflowVersion: SCOREFLOW_VERSION,
    });
    return request;
  };
}

async function cancelRequestOf(execution: { workflowId: string; runId: string } | undefined): Promise<CancelRequest> {
  if (!execution) return { by: null, reason: null };
  const history = await Context.current().client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
  const attrs = history.events?.find((e) => e.workflowExecutionCancelRequestedEventAttributes)?.workflowExecutionCancelRequestedEventAttributes;
  const parent = attrs?.externalWorkflowExecution?.workflowId;
  return { by: attrs?.identity || (parent ? `workflow ${parent}` : null), reason: attrs?.cause || null };
}
