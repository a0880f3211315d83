import { activityInfo } from '@temporalio/activity';
import { withHeartbeats } from './with-heartbeats.js';
import { withTransaction, type PoolClient } from '../db/pool.js';
import { ConfigInvalid } from '../lib/errors.js';
import { SCOREFLOW_VERSION } from '../lib/version.js';
import type { ModelCard } from '../models/card.js';
import { challengerDir } from '../models/challenger.js';
import type { PipelineDefinition } from '../pipelines/index.js';
import { checkLeadsTable } from '../source/leads-table.js';
import { checkShopTables, shopTablesOf } from '../source/shop-tables.js';
import { assertRunId, type ActivityDeps, type RunRef } from './deps.js';
import { stagePipeline, type StagePipeline } from './pipeline.js';
import { measured } from './metrics-interceptor.js';
import { makeScoreChunk } from './score.js';
import { makePublishRun, type PublishResult } from './store.js';
import { snapshotPopularProducts } from './sql/popular-products.js';
import { learnNewestHandled } from './sql/newest-handled.js';
import { warmCurrentRows } from './sql/warm-current-rows.js';
import { createRunStagingTable } from './sql/run-tables.js';
import { beginRun, resetRun } from './sql/runs.js';
import { snapshotOneChunkRows, snapshotRunLeads, type ExtractMode } from './sql/snapshot-run-leads.js';
import { keyIsUnique } from './sql/source-key.js';
import { featureSelect } from './sql/read-chunk-leads.js';
import { scoreLeadRows } from './stage-lead-chunk.js';
import { boundActivity } from './cancellation.js';
import type { LoadedModel } from '../models/load-model.js';
import { warmScoringThreads } from '../models/lead-thread.js';

export interface ExtractInput extends RunRef {
  /** Rescore every lead, not only new and changed ones. */
  full: boolean;
  /** Score the snapshot here when it is one chunk of a probability pipeline (a morning's changes), sparing a round trip through the workflow. */
  scoreSingleChunk?: boolean;
  /** With `scoreSingleChunk`: then also judge and publish that run as publishRun with `gate` does, if the pipeline has no challenger. */
  publishSingleChunk?: boolean;
}

export interface ExtractResult {
  total: number;
  chunks: number;
  duplicates: number;
  modelVersion: string;
  modelSha256: string;
  /** Whether the pipeline names a challenger model, so the workflow schedules the challenger stage only then. */
  challenger: boolean;
  /** Chunks scored by extract itself (with `scoreSingleChunk`): the workflow schedules the others. Absent: none. */
  scoredChunks?: number;
  /** What publishRun with `gate` returned, when extract judged (and, if it passed, published) the run itself (`publishSingleChunk`). */
  published?: PublishResult;
}

/**
 * Stage 1: checks the run's pipeline's model and source, then snapshots the rows to score into scoring.run_leads.
 * A rerun of a run that already has its snapshot returns it unchanged, so retries score the same set. With
 * `scoreSingleChunk`, a snapshot of one chunk is then scored as scoreChunk would (once committed, so a retry finds it staged);
 * with `publishSingleChunk` too, and no challenger to score first, the run is then judged and published as publishRun
 * with `gate` would (each step in its transaction, so a retry finds what is done).
 */
export function makeExtract(deps: ActivityDeps) {
  const scoreChunk = makeScoreChunk(deps);
  const publishRun = makePublishRun(deps);
  return (input: ExtractInput): Promise<ExtractResult> => withHeartbeats(async () => {
    const extracted = await extractLeads(input);
    if (!input.scoreSingleChunk || extracted.chunks !== 1 || stagePipeline(deps, input.pipeline).definition.output.kind === 'top-k') return extracted;
    const { runId, pipeline, asOf } = input;
    // Counted as the batch-score and store stages' work, as if their own activities had done it.
    if (!extracted.scoredChunks) await measured('scoreChunk', pipeline, () => scoreChunk({ runId, pipeline, chunk: 0, modelSha256: extracted.modelSha256 }));
    if (!input.publishSingleChunk || extracted.challenger) return { ...extracted, scoredChunks: 1 };
    const published = await measured('publishRun', pipeline, () => publishRun({ runId, pipeline, asOf, gate: true }));
    return { ...extracted, scoredChunks: 1, published };
  });

  async function extractLeads(input: ExtractInput): Promise<ExtractResult> {
    assertRunId(input.runId);
    const started = Date.now();
    const pipeline = stagePipeline(deps, input.pipeline);
    const chunkSize = pipeline.definition.sizing.chunkSize;
    const topK = pipeline.definition.output.kind === 'top-k';
    const modelRef = topK ? await pinTopKModel(pipeline) : await pinModel(pipeline);
    const challenger = challengerDir(pipeline.definition.modelDir) !== undefined;
    return withTransaction(deps.pool, async (client) => {
      const before = await beginRun(client, {
        ...input,
        temporalRunId: activityInfo().workflowExecution?.runId ?? '',
        modelName: modelRef.name,
        modelVersion: modelRef.version,
        modelSha256: modelRef.sha256,
        scoreflowVersion: SCOREFLOW_VERSION,
      });
      const result = (total: number, chunks: number, duplicates: number): ExtractResult =>
        ({ total, chunks, duplicates, modelVersion: modelRef.version, modelSha256: modelRef.sha256, challenger });
      if (before?.chunks != null) {
        const sameModel = before.model_sha256 === modelRef.sha256;
        if (before.status === 'published' || sameModel) {
          const dup = await client.query('select count(*)::int as n from scoring.rejected_leads where run_id = $1 and chunk is null', [input.runId]);
          // The run keeps the model it was extracted with: that is what its chunks are scored with.
          return { ...result(before.leads_extracted ?? 0, before.chunks, dup.rows[0].n as number),
            modelVersion: before.model_version ?? modelRef.version, modelSha256: before.model_sha256 ?? modelRef.sha256 };
        }
        deps.log.info({ runId: input.runId }, 'the model changed since this run was extracted; extracting again');
        await resetRun(client, input.runId, modelRef);
      }
      // A top-k run publishes a complete set for every customer (readers see one whole run): it takes them all.
      const mode: ExtractMode = topK ? { kind: 'full' } : await extractMode(client, input, { modelSha256: modelRef.sha256, current: pipeline.sinks.current }, deps.lookbackHours);
      if (input.scoreSingleChunk && modelRef.model && mode.kind === 'unscored' && mode.since && await keyIsUnique(client, pipeline.source)) {
        const { snapshotted, chunks, scored } = await snapshotAndScoreOneChunk(client, { runId: input.runId, pipeline, model: modelRef.model, since: mode.since, started });
        deps.log.info({ runId: input.runId, mode: mode.kind, leads: snapshotted, chunks, scoredChunks: scored ? 1 : 0 }, 'extracted');
        return { ...result(snapshotted, chunks, 0), ...(scored ? { scoredChunks: 1 } : {}) };
      }
      const { snapshotted, duplicates } = await snapshotRunLeads(client, {
        runId: input.runId,
        table: pipeline.source,
        current: pipeline.sinks.current,
        chunkSize,
        modelSha256: modelRef.sha256,
        mode,
      });
      if (topK) await snapshotPopularProducts(client, { runId: input.runId, ...shopTablesOf(pipeline.definition) });
      else await createRunStagingTable(client, input.runId);
      const chunks = Math.ceil(snapshotted / chunkSize);
      await markExtracted(client, { runId: input.runId, snapshotted, chunks, ms: Date.now() - started });
      deps.log.info({ runId: input.runId, mode: mode.kind, leads: snapshotted, chunks, duplicates }, 'extracted');
      return result(snapshotted, chunks, duplicates);
    });
  }

  /**
   * A morning's snapshot and, if its candidates make one chunk, that chunk scored and staged as scoreChunk would,
   * from one pass over the source (see snapshotOneChunkRows), in the extract's transaction: a retry finds both
   * committed or neither. More candidates than a chunk are left to the chunk activities, as for any run.
   */
  async function snapshotAndScoreOneChunk(
    client: PoolClient,
    p: { runId: string; pipeline: StagePipeline; model: LoadedModel; since: Date; started: number },
  ): Promise<{ snapshotted: number; chunks: number; scored: boolean }> {
    const { runId, pipeline, model } = p;
    const { encodings, features } = await featureSelect(client, pipeline.source, model.card.inputs);
    await createRunStagingTable(client, runId);
    const readStarted = Date.now();
    // Both cores: the rows the publish rewrites are read (pruned, their pages' images logged) beside the snapshot.
    const warming = warmCurrentRows(deps.pool, { current: pipeline.sinks.current, table: pipeline.source, since: p.since, limit: pipeline.definition.sizing.chunkSize })
      .catch((err: Error) => deps.log.debug({ runId, err: err.message }, 'reading the current rows ahead of the publish failed; the publish reads them'));
    const rows = await snapshotOneChunkRows(client, {
      runId,
      table: pipeline.source,
      current: pipeline.sinks.current,
      chunkSize: pipeline.definition.sizing.chunkSize,
      modelSha256: model.sha256,
      since: p.since,
      inputs: model.card.inputs.map((i) => i.name),
      features,
    });
    const scoring = await scoreLeadRows({ runId, chunk: 0, model, leads: { rows, encodings }, activity: boundActivity(), started: readStarted });
    const { rows: [written] } = await client.query<{ snapshotted: number; chunks: number }>(
      'select coalesce(sum(cardinality(lead_ids)), 0)::int as snapshotted, count(*)::int as chunks from scoring.run_leads where run_id = $1',
      [runId],
    );
    const { snapshotted, chunks } = written!;
    await markExtracted(client, { runId, snapshotted, chunks, ms: Date.now() - p.started });
    if (chunks === 1) await measured('scoreChunk', pipeline.definition.id, () => scoring.stage(client));
    await warming;
    return { snapshotted, chunks, scored: chunks === 1 };
  }

  /**
   * The probability model in the pipeline's directory, checked against the source table's columns. Its scoring
   * threads start meanwhile (see warmScoringThreads), ready for the run's chunks once the snapshot is taken.
   */
  async function pinModel(pipeline: StagePipeline): Promise<{ name: string; version: string; sha256: string; model: LoadedModel }> {
    const model = await pipeline.model.current();
    warmScoringThreads(model).catch((err: Error) => deps.log.warn({ err: err.message }, 'starting the model\'s scoring threads failed; the first chunk starts them'));
    await checkLeadsTable(deps.pool, pipeline.source, featureColumns(pipeline.definition, model.card));
    return { name: model.card.name, version: model.card.version, sha256: model.sha256, model };
  }

  /** The top-k model in the pipeline's directory (both hashes checked), and the shop's tables. */
  async function pinTopKModel(pipeline: StagePipeline): Promise<{ name: string; version: string; sha256: string; model?: undefined }> {
    const model = await deps.recsModelSource(pipeline.definition.modelDir).current();
    await checkShopTables(deps.pool, pipeline.definition, pipeline.source);
    return { name: model.card.name, version: model.card.version, sha256: model.sha256 };
  }
}

/** Records the snapshot's size and time on the run's audit row; its chunks are scored from now on. */
async function markExtracted(client: PoolClient, p: { runId: string; snapshotted: number; chunks: number; ms: number }): Promise<void> {
  await client.query(
    `update scoring.pipeline_runs set leads_extracted = $2, chunks = $3, extract_ms = $4, extracted_at = clock_timestamp(), status = 'scoring', updated_at = now()
     where run_id = $1`,
    [p.runId, p.snapshotted, p.chunks, p.ms],
  );
}

/** The card's inputs, which a definition that lists its feature columns must cover. */
function featureColumns(def: PipelineDefinition, card: ModelCard): string[] {
  const inputs = card.inputs.map((i) => i.name);
  const missing = def.source.features ? inputs.filter((c) => !def.source.features!.includes(c)) : [];
  if (missing.length) {
    throw new ConfigInvalid(`pipeline "${def.id}": source.features lacks ${missing.join(', ')}, which model ${card.name} ${card.version} needs; add them to its definition`);
  }
  return inputs;
}

/**
 * Full on --full; otherwise leads not yet scored at their current version by this model. When the
 * watermark belongs to this model, only leads updated after it (less the lookback, which covers
 * writers whose transactions committed late) are examined; of those, the snapshot probes only the ones changed
 * no later than the newest change the model handled, which the watermark is made to know first.
 */
async function extractMode(
  client: PoolClient,
  input: ExtractInput,
  model: { modelSha256: string; current: string },
  lookbackHours: number,
): Promise<ExtractMode> {
  if (input.full) return { kind: 'full' };
  const { rows } = await client.query<{ source_high_water: Date | null; model_sha256: string; newest_unknown: boolean }>(
    'select source_high_water, model_sha256, newest_handled is null as newest_unknown from scoring.watermarks where pipeline = $1',
    [input.pipeline],
  );
  const wm = rows[0];
  if (!wm || wm.model_sha256 !== model.modelSha256 || !wm.source_high_water) return { kind: 'unscored' };
  if (wm.newest_unknown) await learnNewestHandled(client, { pipeline: input.pipeline, ...model });
  return { kind: 'unscored', since: new Date(wm.source_high_water.getTime() - lookbackHours * 3_600_000) };
}
