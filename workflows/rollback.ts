import { CancellationScope, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { CrmSummary, RollbackCounts, RunRef, ScoringActivities } from '../activities/index.js';
import { boundedMap } from './bounded-map.js';
import { recordOutcome } from './run-outcome.js';
import { CRM_STAGE, DATABASE_STAGE } from './stage-options.js';

/** What `scoreflow rollback` starts: only ids, a date and the operator's words. */
export interface RollbackWorkflowInput {
  pipeline: string;
  /** The published run whose outputs become current again. */
  toRun: string;
  /** The business date the rollback is recorded under (the operator's today). */
  asOf: string;
  reason?: string;
  requestedBy?: string;
  /** false: republish only; the next run with the CRM stage sends what differs. */
  crmSync?: boolean;
}

export interface RollbackWorkflowResult extends RollbackCounts {
  runId: string;
  crm?: CrmSummary;
}

const { rollbackRun } = proxyActivities<ScoringActivities>(DATABASE_STAGE);
const { prepareCrmSync, syncCrmPartition, finishCrmSync } = proxyActivities<ScoringActivities>(CRM_STAGE);

/**
 * A rollback, as a run of its own (its workflow id is its run id, `<run>-rollback-<n>`): republish the
 * target run's outputs in one transaction → crm-sync, which sends only the contacts whose values differ
 * from what the CRM target last accepted.
 */
export async function rollbackWorkflow(input: RollbackWorkflowInput): Promise<RollbackWorkflowResult> {
  const run: RunRef = { runId: workflowInfo().workflowId, pipeline: input.pipeline, asOf: input.asOf };
  try {
    const counts = await CancellationScope.nonCancellable(() => rollbackRun({ ...run, toRun: input.toRun, reason: input.reason, requestedBy: input.requestedBy }));
    let crm: CrmSummary | undefined;
    if (input.crmSync !== false) {
      const plan = await prepareCrmSync(run);
      const partitions = Array.from({ length: plan.partitions }, (_, partition) => partition);
      await boundedMap(partitions, plan.partitions, async (partition) => {
        await syncCrmPartition({ runId: run.runId, partition });
      }, new CancellationScope());
      crm = await finishCrmSync(run);
    }
    return { runId: run.runId, ...counts, crm };
  } catch (err) {
    await CancellationScope.nonCancellable(() => recordOutcome(run, err));
    throw err;
  }
}

/** The rollback's workflow and run id: the target run, then the how-manieth rollback to it this is. */
export function rollbackIdFor(toRun: string, n: number): string {
  return `${toRun}-rollback-${n}`;
}
