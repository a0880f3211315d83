import { randomUUID } from 'node:crypto';
import Long from 'long';
import type { Runtime } from './runtime.js';

/** Event type numbers of temporal.api.enums.v1.EventType that a reset point is found from. */
const ACTIVITY_TASK_SCHEDULED = 10;
const ACTIVITY_TASK_COMPLETED = 12;
const WORKFLOW_TASK_COMPLETED = 6;

export interface ResetPoint {
  eventId: number;
  afterActivity: string;
}

/**
 * Where to reset a failed run so that nothing finished is redone: the workflow task completed right
 * after the last activity that completed. (The Web UI's Reset offers the same event.)
 */
export function findResetPoint(events: Array<{ eventId?: unknown; eventType?: unknown; activityTaskScheduledEventAttributes?: { activityType?: { name?: string | null } | null } | null; activityTaskCompletedEventAttributes?: { scheduledEventId?: unknown } | null }>): ResetPoint | undefined {
  const scheduled = new Map<number, string>();
  let lastCompleted: { index: number; activity: string } | undefined;
  events.forEach((e, index) => {
    const type = Number(e.eventType);
    if (type === ACTIVITY_TASK_SCHEDULED) scheduled.set(Number(e.eventId), e.activityTaskScheduledEventAttributes?.activityType?.name ?? '');
    if (type === ACTIVITY_TASK_COMPLETED) {
      const activity = scheduled.get(Number(e.activityTaskCompletedEventAttributes?.scheduledEventId)) ?? '';
      // Recording the failure is bookkeeping of the failed attempt, not a step to resume after.
      if (activity !== 'recordRunFailure') lastCompleted = { index, activity };
    }
  });
  if (!lastCompleted) return undefined;
  const after = events.slice(lastCompleted.index).find((e) => Number(e.eventType) === WORKFLOW_TASK_COMPLETED);
  return after ? { eventId: Number(after.eventId), afterActivity: lastCompleted.activity } : undefined;
}

/**
 * Resets the latest execution of a failed or stuck run to just after its last completed activity and
 * returns the new execution's run id. Workers must already run with the fix (e.g. the new token).
 */
export async function resetAfterLastCompletedStep(rt: Runtime, workflowId: string): Promise<{ runId: string } & ResetPoint> {
  const t = rt.temporal!;
  const handle = t.client.workflow.getHandle(workflowId);
  const { runId } = await handle.describe();
  const history = await handle.fetchHistory();
  const point = findResetPoint(history.events ?? []);
  if (!point) throw new Error(`${workflowId} has no completed step to resume after; use \`scoreflow rerun\` instead`);
  const res = await t.connection.workflowService.resetWorkflowExecution({
    namespace: t.namespace,
    workflowExecution: { workflowId, runId },
    reason: `scoreflow reset: resume after ${point.afterActivity}`,
    workflowTaskFinishEventId: Long.fromNumber(point.eventId),
    requestId: randomUUID(),
  });
  return { runId: (res as { runId?: string | null }).runId!, ...point };
}
