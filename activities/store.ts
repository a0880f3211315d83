import { withTransaction } from '../db/pool.js';
import { withHeartbeats } from './with-heartbeats.js';
import { RunStateInvalid } from '../lib/errors.js';
import { assertRunId, type RunRef, type ActivityDeps } from './deps.js';
import { judgeRun, type GateVerdict } from './gate.js';
import { stagePipeline } from './pipeline.js';
import { publishRecsRun } from './sql/publish-recs.js';
import { publishStagedRun, publishedCounts, type PublishCounts } from './sql/publish-run.js';
import { pruneRetention } from './sql/prune-retention.js';
import { chunkProgress } from './sql/runs.js';
import { indexRunTableForHistory } from './sql/run-tables.js';

export interface PublishInput extends RunRef {
  /** Judge the run at the quality gate first, in the same activity, and publish it only if it passes. */
  gate?: boolean;
}

export interface PublishResult extends PublishCounts {
  /** With `gate`: the verdict. */
  gate?: GateVerdict;
  /** The gate held the run: nothing was published (counts are zero); the workflow awaits a decision, then publishes without `gate`. */
  held?: boolean;
}

/**
 * Stage 3: publishes the run in one transaction (see publishStagedRun, and publishRecsRun for top-k). Publications of a pipeline are
 * serialised by an advisory lock; publishing an already published run returns its counts. Meanwhile, on a
 * second connection, history's indexes are built on the run's own table (indexRunTableForHistory), so the
 * two cores share the work. Afterwards, in a transaction of its own, working rows of runs past the
 * retention are pruned (see pruneRetention). With `gate`, the quality gate judges the run first (see judgeRun):
 * a run that passes is published at once, which spares the morning run a round trip through the workflow.
 */
export function makePublishRun(deps: ActivityDeps) {
  return (input: PublishInput): Promise<PublishResult> => withHeartbeats(async () => {
    const ref: RunRef = { runId: input.runId, pipeline: input.pipeline, asOf: input.asOf };
    const gate = input.gate ? await judgeRun(deps, ref) : undefined;
    if (gate && gate.verdict === 'breach' && !gate.alreadyPublished) return { published: 0, scored: gate.scored, rejected: gate.rejected, gate, held: true };
    const counts = await publishRun(ref);
    await pruneAfterPublish();
    return gate ? { ...counts, gate } : counts;
  });

  /** The daily pruning, once the publication has committed; a failure is logged and left to the next run. */
  async function pruneAfterPublish(): Promise<void> {
    try {
      const pruned = await withTransaction(deps.pool, (client) => pruneRetention(client, deps.retentionDays));
      deps.log.info({ retentionDays: deps.retentionDays, ...pruned }, 'pruned working rows past retention');
    } catch (err) {
      deps.log.warn({ err: (err as Error).message }, 'pruning past retention failed; the next run or `scoreflow prune` tries again');
    }
  }

  async function publishRun({ runId, pipeline }: RunRef): Promise<PublishCounts> {
    assertRunId(runId);
    const started = Date.now();
    const { sinks, definition } = stagePipeline(deps, pipeline);
    const historyIndexes = definition.output.kind === 'top-k' ? undefined : indexRunTable(runId, sinks.history);
    try {
      return await withTransaction(deps.pool, async (client) => {
        await client.query("select pg_advisory_xact_lock(hashtext('scoreflow.publish'), hashtext($1))", [pipeline]);
        const run = await chunkProgress(client, runId, true);
        if (!run || run.chunks == null) throw new RunStateInvalid(`Run ${runId} has not been extracted`);
        if (run.status === 'published') return publishedCounts(client, runId);
        if (run.staged_chunks !== run.chunks) {
          throw new RunStateInvalid(`Run ${runId} has ${run.staged_chunks} of ${run.chunks} chunks scored`);
        }
        await client.query("update scoring.pipeline_runs set status = 'storing' where run_id = $1", [runId]);
        const counts = definition.output.kind === 'top-k'
          ? await publishRecsRun(client, { runId, pipeline, sinks, keepRuns: deps.recsKeepRuns, storeStartedAt: started })
          : await publishStagedRun(client, { runId, pipeline, sinks, storeStartedAt: started, ...(historyIndexes ? { historyIndexes } : {}) });
        deps.log.info({ runId, ...counts }, 'published');
        return counts;
      });
    } finally {
      await historyIndexes;
    }
  }

  /**
   * History's indexes built on the run's table on a connection of its own, while the publishing transaction
   * writes the current table. A failed build is logged, not thrown: attaching then builds what is missing.
   */
  async function indexRunTable(runId: string, history: string): Promise<void> {
    try {
      await indexRunTableForHistory(deps.pool, { runId, history });
    } catch (err) {
      deps.log.warn({ runId, err: (err as Error).message }, 'building history\'s indexes before publishing failed; publishing builds them');
    }
  }
}
