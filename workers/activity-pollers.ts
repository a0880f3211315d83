import type { Runtime } from './runtime.js';

/**
 * Process ids of the workers Temporal has seen polling `taskQueue` for activities recently (the SDK's
 * default worker identity is `<pid>@<host>`).
 */
export async function activityPollerPids(rt: Runtime, taskQueue: string): Promise<number[]> {
  const { pollers } = await rt.temporal!.client.workflowService.describeTaskQueue({
    namespace: rt.temporal!.namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: 2, // TASK_QUEUE_TYPE_ACTIVITY
  });
  return (pollers ?? []).map((p) => Number(p.identity?.split('@')[0])).filter((pid) => pid > 0);
}
