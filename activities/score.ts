import { boundActivity } from './cancellation.js';
import { withChunkTransaction } from './chunk-transaction.js';
import { RunStateInvalid } from '../lib/errors.js';
import { startCopyScoring } from '../models/score-copy.js';
import { assertRunId, type ActivityDeps } from './deps.js';
import { stagePipeline } from './pipeline.js';
import { withHeartbeats } from './with-heartbeats.js';
import { scoreTopKChunk } from './score-top-k.js';
import { getRun } from './sql/runs.js';
import { readChunkLeads } from './sql/read-chunk-leads.js';
import { stageChunk, type ChunkCounts } from './sql/stage-chunk.js';
import { stagedRowEncoder } from './sql/staged-rows.js';

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
    return withChunkTransaction(deps, { runId, chunk, pinned }, async (client) => {
      // Bound here: the staging COPY pulls the rows from its socket's callbacks, outside this activity's context.
      const activity = boundActivity();
      const encoder = stagedRowEncoder({ runId, chunk, scoredAt: new Date(), model: { version: model.card.version, sha256: model.sha256 } }, model.card.buckets);
      const scoring = startCopyScoring(model, (source, slice, scores, done) => {
        activity.heartbeat({ chunk, scored: done });
        return encoder.encode(source, slice, scores);
      });
      const leads = readChunkLeads(client, { runId, chunk, table: pipeline.source, featureColumns: model.card.inputs.map((i) => i.name) });
      for await (const data of leads) await scoring.write(data as Buffer);
      activity.heartbeat({ chunk, read: true });
      activity.throwIfCancelled();
      // The COPY into staging starts as the read ends and takes each slice's rows as the thread scores them.
      const rows = (async function* () {
        for await (const r of scoring.results()) {
          activity.throwIfCancelled();
          yield r;
        }
      })();
      return stageChunk(client, { runId, chunk, rows, counts: () => ({ scored: scoring.scored(), rejected: scoring.rejected, scoreMs: Date.now() - started }) });
    });
  }
}
