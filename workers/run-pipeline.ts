import cliProgress from 'cli-progress';
import type { WorkflowHandle } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { LEAD_SCORING } from '../pipelines/index.js';
import { leadScoringWorkflow } from '../workflows/lead-scoring.js';
import { pipelineWorkflow, progressQuery, runIdFor, type PipelineResult } from '../workflows/pipeline.js';
import { SCOREFLOW_PIPELINE, SCOREFLOW_STATUS } from '../workflows/search-attributes.js';
import type { Runtime } from './runtime.js';

/** A run's workflow, whichever type: leadScoringWorkflow or pipelineWorkflow. */
export type RunHandle = WorkflowHandle<typeof pipelineWorkflow>;

/**
 * Starts (or attaches to) the run of one pipeline's business date (lead scoring unless `pipeline` says);
 * rerunning a finished date starts a new, idempotent execution. With SCOREFLOW_CRM=off, or for a pipeline
 * without a CRM sink, the run has no CRM stage, as with --no-crm. Lead scoring keeps its own workflow type.
 */
export async function startRun(rt: Runtime, p: { pipeline?: string; asOf: string; full: boolean; crm?: boolean }): Promise<RunHandle> {
  const t = rt.temporal!;
  const def = rt.pipelines.get(p.pipeline ?? LEAD_SCORING);
  const args = {
    asOf: p.asOf,
    full: p.full,
    scoringConcurrency: def.sizing.concurrency,
    crmSync: (p.crm ?? true) && rt.config.crm.target !== 'off' && def.crm !== undefined,
  };
  const options = {
    taskQueue: rt.config.temporal.taskQueue,
    workflowId: runIdFor({ pipeline: def.id, asOf: p.asOf, full: p.full }),
    workflowIdConflictPolicy: 'USE_EXISTING',
    workflowIdReusePolicy: 'ALLOW_DUPLICATE',
  } as const;
  const typedSearchAttributes: SearchAttributePair[] = [{ key: SCOREFLOW_PIPELINE, value: def.id }, { key: SCOREFLOW_STATUS, value: 'running' }];
  if (def.id === LEAD_SCORING) return t.client.workflow.start(leadScoringWorkflow, { ...options, typedSearchAttributes, args: [args] }) as Promise<RunHandle>;
  return t.client.workflow.start(pipelineWorkflow, { ...options, typedSearchAttributes, args: [{ ...args, pipeline: def.id }] });
}

/** Waits for a run, drawing a progress bar of scored chunks on a terminal (stage lines otherwise). */
export async function waitWithProgress(
  handle: RunHandle,
  opts: { show: boolean },
): Promise<PipelineResult> {
  const interactive = opts.show && process.stderr.isTTY;
  const bar = interactive
    ? new cliProgress.SingleBar(
        { format: ' {stage} |{bar}| {value}/{total} chunks | {duration_formatted}', stream: process.stderr, hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let lastStage = '';
  let started = false;
  let finished = false;
  const poll = setInterval(() => {
    handle
      .query(progressQuery)
      .then((p) => {
        if (finished) return; // a query answered after the run ended: its stage line would land after the caller's next output
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
    finished = true;
    clearInterval(poll);
    bar?.stop();
  }
}
