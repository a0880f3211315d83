import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Runtime } from './runtime.js';

/** Who a cancel from this CLI is recorded as, in Temporal's history and on the run's audit row. */
export function cliIdentity(): string {
  return `scoreflow-cli:${os.userInfo().username}@${os.hostname()}`;
}

/**
 * Asks Temporal to cancel a run (the request the Web UI sends, with this CLI's identity and the reason,
 * which the workflow records as who/why), then waits until the run has closed and returns Temporal's
 * final status of it: CANCELLED, or COMPLETED/FAILED when it finished before the cancel reached it.
 */
export async function cancelRun(rt: Runtime, p: { workflowId: string; reason?: string }): Promise<string> {
  const t = rt.temporal!;
  let description;
  try {
    description = await t.client.workflow.getHandle(p.workflowId).describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new Error(`no run ${p.workflowId} in Temporal: check the date (and --full)`, { cause: err });
    throw err;
  }
  const handle = t.client.workflow.getHandle(p.workflowId, description.runId);
  if (description.status.name !== 'RUNNING') {
    throw new Error(`run ${p.workflowId} is not running (${description.status.name}): nothing to cancel`);
  }
  await t.client.workflowService.requestCancelWorkflowExecution({
    namespace: t.namespace,
    workflowExecution: { workflowId: p.workflowId, runId: description.runId },
    identity: cliIdentity(),
    reason: p.reason ?? '',
    requestId: randomUUID(),
  });
  await handle.result().catch(() => undefined);
  return (await handle.describe()).status.name;
}
