import { CancellationScope, defineQuery, isCancellation, patched, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import type { CrmSummary, PublishCounts, ScoringActivities } from '../activities/index.js';
import { boundedMap } from './bounded-map.js';
import { recordFailure, recordOutcome } from './run-outcome.js';
import { CHUNK_STAGE, CRM_STAGE, DATABASE_STAGE } from './stage-options.js';
import { SCOREFLOW_MODEL_VERSION, SCOREFLOW_PIPELINE, SCOREFLOW_STATUS, type RunSearchStatus } from './search-attributes.js';
import { scoreChallenger } from './challenger.js';
import { qualityGate, type GateOutcome } from './gate.js';

/** Input of one pipeline's business day. Only a pipeline id, a date and settings: never source data. */
export interface PipelineInput {
  /** The definition's id (pipelines/): the activities look up its source, model and sinks by it. */
  pipeline: string;
  asOf: string;
  full?: boolean;
  /** How many chunks are scored at once (the definition's sizing.concurrency, read by the starter). */
  scoringConcurrency?: number;
  /** false: score and store only; the next run with the CRM stage sends what this one published. */
  crmSync?: boolean;
}

export interface PipelineResult {
  runId: string;
  asOf: string;
  modelVersion: string;
  modelSha256: string;
  extracted: number;
  chunks: number;
  scored: number;
  rejected: number;
  published: number;
  /** Absent for runs started before the CRM stage existed. */
  crm?: CrmSummary;
  /** The quality gate's verdict and decision; absent for runs started before the gate existed. */
  gate?: GateOutcome;
}

export interface RunProgress {
  stage: 'extract' | 'batch-score' | 'gate' | 'awaiting-approval' | 'rejected' | 'store' | 'crm-sync' | 'done' | 'failed' | 'cancelled';
  chunksDone: number;
  chunksTotal: number;
}

export const progressQuery = defineQuery<RunProgress>('progress');

const { extractLeads, publishRun } = proxyActivities<ScoringActivities>(DATABASE_STAGE);
const { scoreChunk } = proxyActivities<ScoringActivities>(CHUNK_STAGE);
const { prepareCrmSync, syncCrmPartition, finishCrmSync } = proxyActivities<ScoringActivities>(CRM_STAGE);

/**
 * One business day of any pipeline: extract → batch-score (chunks in parallel, bounded) → store → crm-sync
 * (a pipeline without a CRM sink plans no partitions). What differs between pipelines is in their definitions.
 */
export async function pipelineWorkflow(input: PipelineInput): Promise<PipelineResult> {
  const run = { runId: runIdFor(input), pipeline: input.pipeline, asOf: input.asOf };
  const progress: RunProgress = { stage: 'extract', chunksDone: 0, chunksTotal: 0 };
  setHandler(progressQuery, () => progress);
  const mark = markRun(run.pipeline);
  try {
    mark('running');
    // Extract scores a snapshot of one chunk itself (a morning's changes); runs recorded before scheduled every chunk.
    const scoreSingleChunk = patched('score-single-chunk-at-extract');
    // And then judges and publishes it, if the pipeline has no challenger; runs recorded before published it in publishRun.
    const publishSingleChunk = scoreSingleChunk && patched('publish-single-chunk-at-extract');
    const extracted = await extractLeads({
      ...run, full: input.full ?? false, ...(scoreSingleChunk ? { scoreSingleChunk } : {}), ...(publishSingleChunk ? { publishSingleChunk } : {}),
    });

    progress.stage = 'batch-score';
    progress.chunksTotal = extracted.chunks;
    progress.chunksDone = extracted.scoredChunks ?? 0;
    mark('scoring', extracted.modelVersion);
    const chunks = Array.from({ length: extracted.chunks }, (_, chunk) => chunk).slice(extracted.scoredChunks ?? 0);
    await boundedMap(chunks, input.scoringConcurrency ?? 2, async (chunk) => {
      const chunkInput = { runId: run.runId, pipeline: run.pipeline, chunk, modelSha256: extracted.modelSha256 };
      await (mark.on ? scoreChunk.executeWithOptions({ summary: `score chunk ${chunk + 1} of ${extracted.chunks}` }, [chunkInput]) : scoreChunk(chunkInput));
      progress.chunksDone++;
    }, stopOnFirstFailure());
    // Extract says whether the pipeline has a challenger; runs recorded before it did asked pinChallenger every time.
    if (patched('challenger-shadow') && (!patched('challenger-from-extract') || extracted.challenger !== false)) {
      await scoreChallenger(run, extracted.chunks, input.scoringConcurrency ?? 2);
    }

    let gate: GateOutcome | undefined;
    let stored: PublishCounts | undefined;
    // Runs recorded before the quality gate went straight to store; the patch keeps them replayable.
    if (patched('quality-gate')) {
      progress.stage = 'gate';
      // The store stage judges the run and publishes it if it passes, in one activity (extract did, for a run of one chunk);
      // runs recorded before asked evaluateGate first.
      const judge = patched('publish-with-gate') ? async () => {
        const judged = extracted.published ?? await CancellationScope.nonCancellable(() => publishRun({ ...run, gate: true }));
        if (!judged.held) stored = judged;
        return judged.gate!;
      } : undefined;
      gate = await qualityGate(run, () => {
        progress.stage = 'awaiting-approval';
        mark('awaiting-approval');
      }, judge);
      if (gate.decision?.decision === 'reject') {
        progress.stage = 'rejected';
        mark('rejected');
        const { modelVersion, modelSha256, total, chunks: chunkCount } = extracted;
        return { ...run, modelVersion, modelSha256, extracted: total, chunks: chunkCount, scored: gate.scored, rejected: gate.rejected, published: 0, gate };
      }
    }

    if (!stored) {
      progress.stage = 'store';
      mark('storing');
      // A cancel waits for the store stage: a run is published entirely or not at all.
      stored = await CancellationScope.nonCancellable(() => publishRun(run));
    }

    let crm: CrmSummary | undefined;
    // Runs recorded before the CRM stage existed end after store; the patch keeps them replayable.
    if (patched('crm-sync-stage') && input.crmSync !== false) {
      progress.stage = 'crm-sync';
      mark('syncing');
      const plan = await prepareCrmSync(run);
      const partitions = Array.from({ length: plan.partitions }, (_, partition) => partition);
      await boundedMap(partitions, plan.partitions, async (partition) => {
        const partitionInput = { runId: run.runId, partition };
        await (mark.on ? syncCrmPartition.executeWithOptions({ summary: `CRM partition ${partition + 1} of ${plan.partitions}` }, [partitionInput]) : syncCrmPartition(partitionInput));
      }, stopOnFirstFailure());
      crm = await finishCrmSync(run);
    }

    progress.stage = 'done';
    mark('published');
    return {
      ...run,
      modelVersion: extracted.modelVersion,
      modelSha256: extracted.modelSha256,
      extracted: extracted.total,
      chunks: extracted.chunks,
      scored: stored.scored,
      rejected: stored.rejected,
      published: stored.published,
      crm,
      gate,
    };
  } catch (err) {
    progress.stage = isCancellation(err) ? 'cancelled' : 'failed';
    mark(progress.stage);
    // Recorded even when the run itself was cancelled; runs recorded before this lost that record.
    if (patched('record-outcome-non-cancellable')) await CancellationScope.nonCancellable(() => recordOutcome(run, err));
    else await recordFailure(run, err);
    throw err;
  }
}

/** A scope that stops a stage's fan-out at its first failure; runs recorded before it went on (see boundedMap). */
function stopOnFirstFailure(): CancellationScope | undefined {
  return patched('stop-on-first-failure') ? new CancellationScope() : undefined;
}

/**
 * Sets the run's search attributes (pipeline, model version, status) for the Web UI's filters. Runs recorded
 * before they existed set none, and their chunk activities carry no timeline summary (`on` is false).
 */
function markRun(pipeline: string): ((status: RunSearchStatus, modelVersion?: string) => void) & { on: boolean } {
  const on = patched('search-attributes-and-summaries');
  const mark = (status: RunSearchStatus, modelVersion?: string) => {
    if (!on) return;
    upsertSearchAttributes([
      { key: SCOREFLOW_PIPELINE, value: pipeline },
      { key: SCOREFLOW_STATUS, value: status },
      ...(modelVersion ? [{ key: SCOREFLOW_MODEL_VERSION, value: modelVersion }] : []),
    ]);
  };
  return Object.assign(mark, { on });
}

/** The run id keys every row a run writes: one per pipeline and business date (and one more for a --full rescore). */
export function runIdFor(input: Pick<PipelineInput, 'pipeline' | 'asOf' | 'full'>): string {
  return `${input.pipeline}-${input.asOf}${input.full ? '-full' : ''}`;
}
