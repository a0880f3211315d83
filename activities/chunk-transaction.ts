import type { PoolClient } from '../db/pool.js';
import { RunStateInvalid } from '../lib/errors.js';
import { withCancellableTransaction } from './cancellation.js';
import type { ActivityDeps } from './deps.js';
import { getRun } from './sql/runs.js';
import { lockChunk, stagedChunk, type ChunkCounts } from './sql/stage-chunk.js';

/**
 * The transaction every output kind scores a chunk in: the chunk locked, its counts returned at once if
 * it is already staged, the run checked to be extracted with the model this execution pinned; then
 * `stage` reads, scores and stages it. A cancel rolls it all back.
 */
export function withChunkTransaction(
  deps: Pick<ActivityDeps, 'pool'>,
  p: { runId: string; chunk: number; pinned: string },
  stage: (client: PoolClient) => Promise<ChunkCounts>,
): Promise<ChunkCounts> {
  const { runId, chunk, pinned } = p;
  return withCancellableTransaction(deps.pool, async (client) => {
    await lockChunk(client, runId, chunk);
    const done = await stagedChunk(client, runId, chunk);
    if (done) return done;
    const run = await getRun(client, runId);
    if (!run || run.chunks == null) throw new RunStateInvalid(`Run ${runId} has no snapshot to score`);
    if (run.model_sha256 !== pinned) {
      throw new RunStateInvalid(`Run ${runId} was extracted again, with model ${run.model_sha256}, after this execution pinned ${pinned}`);
    }
    return stage(client);
  });
}
