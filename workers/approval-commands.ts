import os from 'node:os';
import type { Command } from 'commander';
import { gateReports, type GateReport } from '../activities/sql/gate-report.js';
import { LEAD_SCORING } from '../pipelines/index.js';
import { approvalQuery, decideSignal, type ApprovalState } from '../workflows/gate.js';
import { runIdFor } from '../workflows/pipeline.js';
import { parseDate } from './dates.js';
import type { Runtime, WithRuntime } from './runtime.js';

type Print = (json: boolean | undefined, value: unknown, text: () => string) => void;

/** Who decides when --by is not given: the login name of the person running the CLI. */
function loginName(): string {
  return os.userInfo().username;
}

/**
 * Sends the `decide` signal to a run that awaits approval (the same signal the Web UI's "Send a Signal"
 * sends) and waits until the run has recorded the decision; a run that does not await approval is an error.
 */
export async function decideRun(rt: Runtime, p: { workflowId: string; decision: 'approve' | 'reject'; by: string; reason: string }): Promise<GateReport> {
  const handle = rt.temporal!.client.workflow.getHandle(p.workflowId);
  const state = await handle.query(approvalQuery).catch((err: Error): ApprovalState | null => {
    if (/not found|did not register|not registered|QueryNotRegistered|unknown queryType/i.test(err.message)) return null;
    throw err;
  });
  if (!state?.awaiting) {
    const [report] = (await gateReports(rt.pool, [p.workflowId])).values();
    const already = report?.decision ? `: already decided (${report.decision} by ${report.decided_by})` : '';
    throw new Error(`run ${p.workflowId} is not awaiting approval${already}; \`scoreflow status\` shows its state`);
  }
  await handle.signal(decideSignal, { decision: p.decision, by: p.by, reason: p.reason });
  const deadline = Date.now() + 120_000;
  for (;;) {
    const report = (await gateReports(rt.pool, [p.workflowId])).get(p.workflowId);
    if (report?.decision) return report;
    if (Date.now() > deadline) throw new Error(`sent the decision to ${p.workflowId}, but no worker has recorded it within 2 minutes: is a \`scoreflow worker\` running?`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** `scoreflow approve` and `scoreflow reject`: a person's decision on a run held at the quality gate. */
export function registerApprovalCommands(program: Command, withRuntime: WithRuntime, print: Print): void {
  for (const decision of ['approve', 'reject'] as const) {
    program
      .command(decision)
      .description(decision === 'approve'
        ? 'approve a run that awaits approval at the quality gate: it publishes'
        : 'reject a run that awaits approval at the quality gate: nothing of it is published, its status becomes rejected')
      .option('--pipeline <id>', 'the pipeline of the run', LEAD_SCORING)
      .requiredOption('--as-of <date>', 'business date YYYY-MM-DD', parseDate)
      .option('--full', 'the --full run of that date', false)
      .requiredOption('--reason <text>', 'why, recorded on the run with who decided')
      .option('--by <name>', 'who decides (default: your login name)')
      .option('--json', 'JSON output')
      .action((o: { pipeline: string; asOf: string; full: boolean; reason: string; by?: string; json?: boolean }) =>
        withRuntime({ temporal: true, crm: 'off', pipeline: o.pipeline }, async (rt) => {
          const workflowId = runIdFor(o);
          const report = await decideRun(rt, { workflowId, decision, by: o.by ?? loginName(), reason: o.reason });
          print(o.json, report, () => `Run ${workflowId}: ${report.decision === 'approve' ? 'approved' : 'rejected'} by ${report.decided_by}${report.decision_reason ? `: ${report.decision_reason}` : ''}`);
        }),
      );
  }
}
