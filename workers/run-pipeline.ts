import cliProgress from 'cli-progress';
import type { WorkflowHandle } from '@temporalio/client';
import { leadScoringWorkflow, progressQuery, runIdFor, type LeadScoringResult } from '../workflows/lead-scoring.js';
import type { Runtime } from './runtime.js';

/**
 * Starts (or attaches to) the run of one business date; rerunning a finished date starts a new, idempotent
 * execution. With SCOREFLOW_CRM=off the run has no CRM stage, as with --no-crm.
 */
export async function startRun(rt: Runtime, p: { asOf: string; full: boolean; crm?: boolean }): Promise<WorkflowHandle<typeof leadScoringWorkflow>> {
  const t = rt.temporal!;
  return t.client.workflow.start(leadScoringWorkflow, {
    taskQueue: rt.config.temporal.taskQueue,
    workflowId: runIdFor(p),
    args: [{ asOf: p.asOf, full: p.full, scoringConcurrency: rt.config.scoring.concurrency, crmSync: (p.crm ?? true) && rt.config.crm.target !== 'off' }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
  });
}

/** Waits for a run, drawing a progress bar of scored chunks on a terminal (stage lines otherwise). */
export async function waitWithProgress(
  handle: WorkflowHandle<typeof leadScoringWorkflow>,
  opts: { show: boolean },
): Promise<LeadScoringResult> {
  const interactive = opts.show && process.stderr.isTTY;
  const bar = interactive
    ? new cliProgress.SingleBar(
        { format: ' {stage} |{bar}| {value}/{total} chunks | {duration_formatted}', stream: process.stderr, hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let lastStage = '';
  let started = false;
  const poll = setInterval(() => {
    handle
      .query(progressQuery)
      .then((p) => {
        if (bar) {
          if (!started) bar.start(Math.max(p.chunksTotal, 1), p.chunksDone, { stage: p.stage.padEnd(11) });
          started = true;
          bar.setTotal(Math.max(p.chunksTotal, 1));
          bar.update(p.chunksDone, { stage: p.stage.padEnd(11) });
        } else if (opts.show && p.stage !== lastStage) {
          process.stderr.write(`  ${p.stage}${p.stage === 'batch-score' && p.chunksTotal ? ` (${p.chunksTotal} chunks)` : ''}\n`);
        }
        lastStage = p.stage;
      })
      .catch(() => {});
  }, 300);
  try {
    return await handle.result();
  } finally {
    clearInterval(poll);
    bar?.stop();
  }
}
