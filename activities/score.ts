import { boundActivity } from './cancellation.js';
import { withChunkTransaction } from './chunk-transaction.js';
import { RunStateInvalid } from '../lib/errors.js';
import { assertRunId, type ActivityDeps } from './deps.js';
import { stagePipeline } from './pipeline.js';
import { withHeartbeats } from './with-heartbeats.js';
import { scoreTopKChunk } from './score-top-k.js';
import { getRun } from './sql/runs.js';
import type { ChunkCounts } from './sql/stage-chunk.js';
import { stageLeadChunk } from './stage-lead-chunk.js';

export interface ScoreChunkInput {
  runId: string;
  /** The run's pipeline; absent in runs started before pipelines were definitions, which read it from the run's row. */
  pipeline?: string;
  chunk: number;
  /** The model the run pinned at extract; absent in runs started before pinning, which read it from the run's row. */
  modelSha256?: string;
}

/**
 * Stage 2, one chunk: reads its leads' features, quarantines unusable rows with a reason, runs the
 * model and stages the scores (a top-k pipeline's chunk: see scoreTopKChunk). A chunk already staged returns its counts without doing it again.
 * It heartbeats every second, so a cancel reaches it within seconds and rolls its transaction back.
 */
export function makeScoreChunk(deps: ActivityDeps) {
  return (input: ScoreChunkInput): Promise<ChunkCounts> => withHeartbeats(() => scoreChunk(input), 1000);

  async function scoreChunk({ runId, chunk, modelSha256, pipeline: pipelineId }: ScoreChunkInput): Promise<ChunkCounts> {
    assertRunId(runId);
    const started = Date.now();
    const before = modelSha256 && pipelineId ? undefined : await getRun(deps.pool, runId);
    const pinned = modelSha256 ?? before?.model_sha256;
    const id = pipelineId ?? before?.pipeline;
    if (!pinned || !id) throw new RunStateInvalid(`Run ${runId} has no snapshot to score`);
    const pipeline = stagePipeline(deps, id);
    if (pipeline.definition.output.kind === 'top-k') return scoreTopKChunk(deps, { runId, chunk, pinned, pipeline, started });
    const model = await pipeline.model.bySha(pinned);
    return withChunkTransaction(deps, { runId, chunk, pinned }, (client) =>
      // Bound here: the staging COPY pulls the rows from its socket's callbacks, outside this activity's context.
      stageLeadChunk(client, { runId, chunk, model, source: pipeline.source, activity: boundActivity(), started }));
  }
}
