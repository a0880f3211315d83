import { heartbeat } from '@temporalio/activity';
import { throwIfCancelled, withCancellableTransaction } from './cancellation.js';
import { RunStateInvalid } from '../lib/errors.js';
import { recommend } from '../models/top-k.js';
import { shopTablesOf } from '../source/shop-tables.js';
import type { ActivityDeps } from './deps.js';
import type { StagePipeline } from './pipeline.js';
import { readChunkHistory } from './sql/recs-history.js';
import { getRun } from './sql/runs.js';
import { stageRecsChunk } from './sql/stage-recs.js';
import { lockChunk, stagedChunk, type ChunkCounts } from './sql/stage-chunk.js';

/**
 * Stage 2 of a top-k pipeline, one chunk: builds its customers' histories from purchases before the run's
 * snapshot, runs the pinned model, falls back to the popularity list for empty histories and stages the
 * rows. All in one transaction that also marks the chunk: a retried chunk changes nothing.
 */
export async function scoreTopKChunk(
  deps: ActivityDeps,
  p: { runId: string; chunk: number; pinned: string; pipeline: StagePipeline; started: number },
): Promise<ChunkCounts> {
  const { runId, chunk, pinned, pipeline } = p;
  const model = await deps.recsModelSource(pipeline.definition.modelDir).bySha(pinned);
  return withCancellableTransaction(deps.pool, async (client) => {
    await lockChunk(client, runId, chunk);
    const done = await stagedChunk(client, runId, chunk);
    if (done) return done;
    const run = await getRun(client, runId);
    if (!run || run.chunks == null) throw new RunStateInvalid(`Run ${runId} has no snapshot to score`);
    if (run.model_sha256 !== pinned) {
      throw new RunStateInvalid(`Run ${runId} was extracted again, with model ${run.model_sha256}, after this execution pinned ${pinned}`);
    }
    const inputs = await readChunkHistory(client, {
      runId, chunk, key: pipeline.definition.source.key, ...shopTablesOf(pipeline.definition), halfLifeDays: model.card.history.half_life_days,
    });
    heartbeat({ chunk, read: inputs.customerIds.length });
    const recs = await recommend(model, inputs, (scored) => {
      heartbeat({ chunk, scored });
      throwIfCancelled();
    });
    return stageRecsChunk(client, { runId, chunk, recs, generatedAt: new Date(), scoreMs: Date.now() - p.started });
  });
}
