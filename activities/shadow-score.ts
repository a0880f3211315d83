import { heartbeat } from '@temporalio/activity';
import type { PoolClient } from '../db/pool.js';
import { bucketFor } from '../models/card.js';
import { challengerDir } from '../models/challenger.js';
import { scoreCopyLeads } from '../models/score-copy.js';
import { recommend, sliceBuffers } from '../models/top-k.js';
import { shopTablesOf } from '../source/shop-tables.js';
import { throwIfCancelled, withCancellableTransaction } from './cancellation.js';
import { assertRunId, type ActivityDeps, type RunRef } from './deps.js';
import { stagePipeline, type StagePipeline } from './pipeline.js';
import { withHeartbeats } from './with-heartbeats.js';
import { readChunkLeads } from './sql/read-chunk-leads.js';
import { readBatchPurchases, readChunkCustomers, readTopKContext } from './sql/recs-history.js';
import { lockShadowChunk, pinShadowRun, writeShadowRecs, writeShadowScores } from './sql/shadow.js';

/** The challenger a run scores in shadow: which model, by its ONNX sha256. */
export interface PinnedChallenger {
  modelVersion: string;
  modelSha256: string;
}

export interface ShadowChunkInput {
  runId: string;
  pipeline: string;
  chunk: number;
  modelSha256: string;
}

/**
 * The challenger stage: scores a run's snapshot with the pipeline's challenger model (`<model dir>/challenger`)
 * into scoring.shadow_scores or recs.shadow_recommendations, through the same readers and model functions
 * as the champion's chunks. Nothing here writes a published table, the CRM outbox or the run's counts.
 */
export function makeShadowScoring(deps: ActivityDeps) {
  /** Pins the pipeline's challenger for the run (stored in scoring.model_store for every worker); null when it has none. */
  async function pinChallenger(input: RunRef & { chunks: number }): Promise<PinnedChallenger | null> {
    assertRunId(input.runId);
    const pipeline = stagePipeline(deps, input.pipeline);
    const dir = challengerDir(pipeline.definition.modelDir);
    if (!dir) return null;
    const model = pipeline.definition.output.kind === 'top-k'
      ? await deps.recsModelSource(dir).current()
      : await deps.modelSource(dir).current();
    const pinned = await pinShadowRun(deps.pool, {
      runId: input.runId, pipeline: input.pipeline, modelName: model.card.name, modelVersion: model.card.version, modelSha256: model.sha256, chunks: input.chunks,
    });
    deps.log.info({ runId: input.runId, challenger: pinned.model_sha256 }, 'challenger pinned');
    return { modelVersion: pinned.model_version, modelSha256: pinned.model_sha256 };
  }

  /** Scores one chunk of the run's snapshot with the pinned challenger; a chunk already scored is left as it is. */
  function shadowScoreChunk(input: ShadowChunkInput): Promise<number> {
    assertRunId(input.runId);
    const pipeline = stagePipeline(deps, input.pipeline);
    return withHeartbeats(() => withCancellableTransaction(deps.pool, async (client) => {
      if (await lockShadowChunk(client, input.runId, input.chunk)) return 0;
      const progress = (scored: number) => {
        heartbeat({ chunk: input.chunk, scored });
        throwIfCancelled();
      };
      if (pipeline.definition.output.kind === 'top-k') return recommendChunk(client, pipeline, input, progress);
      const model = await pipeline.model.bySha(input.modelSha256);
      const leadIds: string[] = [];
      const score: number[] = [];
      const leads = await readChunkLeads(client, { runId: input.runId, chunk: input.chunk, table: pipeline.source, inputs: model.card.inputs });
      await scoreCopyLeads(model, leads.rows, (source, slice, scores, done) => {
        for (let r = 0; r < slice.rows; r++) {
          leadIds.push(String(source.readBigInt64BE(slice.idStart[r]! + 4)));
          score.push(scores[r]!);
        }
        progress(done);
      }, leads.encodings);
      await writeShadowScores(client, { ...input, leadIds, score, bucket: score.map((s) => bucketFor(model.card, s)) });
      return leadIds.length;
    }), 1000);
  }

  /** The champion's top-k path (scoreTopKChunk) with the challenger's model: batch by batch, each written to the shadow table. */
  async function recommendChunk(client: PoolClient, pipeline: StagePipeline, input: ShadowChunkInput, progress: (n: number) => void): Promise<number> {
    const model = await deps.recsModelSource(pipeline.definition.modelDir).bySha(input.modelSha256);
    const tables = shopTablesOf(pipeline.definition);
    const { batchSize } = pipeline.definition.sizing;
    const customers = await readChunkCustomers(client, { runId: input.runId, chunk: input.chunk });
    const context = await readTopKContext(client, { runId: input.runId, products: tables.products });
    const buffers = sliceBuffers(model);
    for (let start = 0; start < customers.length; start += batchSize) {
      const customerIds = customers.slice(start, start + batchSize);
      const purchases = await readBatchPurchases(client, {
        runId: input.runId, first: customerIds[0]!, last: customerIds[customerIds.length - 1]!, key: pipeline.definition.source.key,
        purchases: tables.purchases, halfLifeDays: model.card.history.half_life_days,
      });
      const recs = await recommend(model, { customerIds, purchases, ...context }, () => progress(start), buffers);
      await writeShadowRecs(client, { ...input, recs });
      progress(start + customerIds.length);
    }
    return customers.length;
  }

  return { pinChallenger, shadowScoreChunk };
}
