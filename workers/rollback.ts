import type { Command } from 'commander';
import type { WorkflowHandle } from '@temporalio/client';
import { findRollbackTarget } from '../activities/sql/rollback.js';
import { LEAD_SCORING } from '../pipelines/index.js';
import { parseLeadsTable } from '../source/leads-table.js';
import { rollbackIdFor, rollbackWorkflow } from '../workflows/rollback.js';
import { cliIdentity } from './cancel.js';
import { today } from './dates.js';
import { workflowUrl } from './format.js';
import { withLocalWorker } from './local-worker.js';
import type { Runtime, WithRuntime } from './runtime.js';

/**
 * Checks the target (unknown, never published or no longer kept: RollbackTargetInvalid, before anything
 * starts) and starts the rollback workflow `<run>-rollback-<n>`, n counting this run's earlier rollbacks.
 */
export async function startRollback(
  rt: Runtime,
  p: { pipeline: string; toRun: string; reason?: string; crm?: boolean },
): Promise<WorkflowHandle<typeof rollbackWorkflow>> {
  const def = rt.pipelines.get(p.pipeline);
  await findRollbackTarget(rt.pool, { pipeline: def.id, toRun: p.toRun, versioned: def.output.kind === 'top-k' ? parseLeadsTable(def.sinks.history) : undefined });
  const { rows } = await rt.pool.query<{ n: number }>(
    "select count(*)::int as n from scoring.pipeline_runs where run_id like $1 || '-rollback-%'", [p.toRun],
  );
  const requestedBy = cliIdentity();
  return rt.temporal!.client.workflow.start(rollbackWorkflow, {
    taskQueue: rt.config.temporal.taskQueue,
    workflowId: rollbackIdFor(p.toRun, rows[0]!.n + 1),
    // What the Web UI shows on the workflow's page: what is rolled back, by whom and why.
    staticSummary: `rollback of ${def.id} to run ${p.toRun}`,
    staticDetails: `requested by ${requestedBy}${p.reason ? `: ${p.reason}` : ''}`,
    args: [{
      pipeline: def.id,
      toRun: p.toRun,
      asOf: today(def.schedule.timezone),
      reason: p.reason,
      requestedBy,
      crmSync: (p.crm ?? true) && rt.config.crm.target !== 'off' && def.crm !== undefined,
    }],
  });
}

/** `scoreflow rollback --pipeline P --to-run R`: republish run R's outputs as a new audited run, then sync the CRM. */
export function registerRollbackCommand(program: Command, withRuntime: WithRuntime): void {
  program
    .command('rollback')
    .description('republish an earlier published run\'s outputs as the current ones, in one transaction, as a new audited run (a workflow like any run); the CRM stage then sends only the contacts that differ')
    .option('--pipeline <id>', 'the pipeline to act on (`scoreflow pipelines` lists them)', LEAD_SCORING)
    .requiredOption('--to-run <run id>', 'the published run to go back to (`scoreflow runs --pipeline <id>` lists them)')
    .option('--reason <text>', 'why, recorded on the rollback\'s audit row with who asked')
    .option('--no-crm', 'republish only; the next run with the CRM stage sends what differs')
    .option('--json', 'print the result as JSON')
    .option('--no-worker', 'do not run a worker in this process (your `scoreflow worker` fleet does the work)')
    .action((o: { pipeline: string; toRun: string; reason?: string; crm: boolean; json?: boolean; worker: boolean }) =>
      withRuntime({ temporal: true, model: true, pipeline: o.pipeline }, (rt) =>
        withLocalWorker(rt, o.worker, async () => {
          const handle = await startRollback(rt, o);
          if (!o.json) process.stderr.write(`Rollback ${handle.workflowId}: ${workflowUrl(rt.temporal!.uiUrl, rt.temporal!.namespace, handle.workflowId) ?? ''}\n`);
          const r = await handle.result();
          process.stdout.write(o.json ? `${JSON.stringify(r, null, 2)}\n` : [
            `Run ${r.runId} republished ${r.rolledBackFrom} (model ${r.modelVersion ?? '-'}, ${r.modelSha256?.slice(0, 12) ?? '-'}): ${r.restored.toLocaleString('en-US')} keys restored${r.removed ? `, ${r.removed.toLocaleString('en-US')} first scored later removed` : ''}`,
            `CRM: ${r.crm ? `${r.crm.sent} sent, ${r.crm.unchanged} unchanged, ${r.crm.failed} failed` : 'not synced'}`,
            'The model directory is unchanged: to score with that model again, `scoreflow models deploy --from <its version directory>`.',
          ].join('\n') + '\n');
        }),
      ),
    );
}
