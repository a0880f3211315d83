import { heartbeat } from '@temporalio/activity';
import { throwIfCancelled } from './cancellation.js';
import { withChunkTransaction } from './chunk-transaction.js';
import { recommend } from '../models/top-k.js';
import { shopTablesOf } from '../source/shop-tables.js';
import type { ActivityDeps } from './deps.js';
import type { StagePipeline } from './pipeline.js';
import { readChunkHistory } from './sql/recs-history.js';
import { stageRecsChunk } from './sql/stage-recs.js';
import type { ChunkCounts } from './sql/stage-chunk.js';

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
  return withChunkTransaction(deps, { runId, chunk, pinned }, async (client) => {
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
