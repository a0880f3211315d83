import { heartbeat } from '@temporalio/activity';
import { throwIfCancelled } from './cancellation.js';
import { withChunkTransaction } from './chunk-transaction.js';
import { recommend, sliceBuffers } from '../models/top-k.js';
import { shopTablesOf } from '../source/shop-tables.js';
import type { ActivityDeps } from './deps.js';
import type { StagePipeline } from './pipeline.js';
import { readBatchPurchases, readChunkCustomers, readTopKContext } from './sql/recs-history.js';
import { stageRecs } from './sql/stage-recs.js';
import { markChunkStaged, type ChunkCounts } from './sql/stage-chunk.js';

/**
 * Stage 2 of a top-k pipeline, one chunk: in batches of the definition's sizing.batchSize customers (which
 * bound its memory; it heartbeats after each), builds their histories from purchases before the run's
 * snapshot, runs the pinned model, falls back to the popularity list for empty histories and stages the
 * rows into the versioned table. All in one transaction that also marks the chunk: a retried chunk changes nothing.
 */
export async function scoreTopKChunk(
  deps: ActivityDeps,
  p: { runId: string; chunk: number; pinned: string; pipeline: StagePipeline; started: number },
): Promise<ChunkCounts> {
  const { runId, chunk, pinned, pipeline } = p;
  const { key } = pipeline.definition.source;
  const { batchSize } = pipeline.definition.sizing;
  const model = await deps.recsModelSource(pipeline.definition.modelDir).bySha(pinned);
  const tables = shopTablesOf(pipeline.definition);
  return withChunkTransaction(deps, { runId, chunk, pinned }, async (client) => {
    const customers = await readChunkCustomers(client, { runId, chunk });
    const context = await readTopKContext(client, { runId, products: tables.products });
    const buffers = sliceBuffers(model);
    const generatedAt = new Date();
    const read = (start: number) => {
      const ids = customers.slice(start, start + batchSize);
      const purchases = readBatchPurchases(client, {
        runId, first: ids[0]!, last: ids[ids.length - 1]!, key, purchases: tables.purchases, halfLifeDays: model.card.history.half_life_days,
      });
      purchases.catch(() => {});
      return { customerIds: ids, purchases };
    };
    let next = customers.length ? read(0) : undefined;
    for (let start = 0; next; start += batchSize) {
      const { customerIds } = next;
      const purchases = await next.purchases;
      // PostgreSQL reads the next batch while this one is scored.
      next = start + batchSize < customers.length ? read(start + batchSize) : undefined;
      const recs = await recommend(model, { customerIds, purchases, ...context }, () => throwIfCancelled(), buffers);
      await stageRecs(client, { runId, history: pipeline.sinks.history, model: { version: model.card.version, sha256: model.sha256 }, recs, generatedAt });
      heartbeat({ chunk, staged: start + customerIds.length });
      throwIfCancelled();
    }
    return markChunkStaged(client, { runId, chunk, scored: customers.length, rejected: 0, scoreMs: Date.now() - p.started });
  });
}
