import { activityInfo } from '@temporalio/activity';
import { withTransaction } from '../db/pool.js';
import { SCOREFLOW_VERSION } from '../lib/version.js';
import { assertRunId, type ActivityDeps, type RunRef } from './deps.js';
import { parseLeadsTable } from '../source/leads-table.js';
import { stagePipeline } from './pipeline.js';
import { findRollbackTarget, restoreLeadScores, restoreRecsPointer } from './sql/rollback.js';

export interface RollbackInput extends RunRef {
  /** The published run whose outputs become current again. */
  toRun: string;
  reason?: string;
  /** Who asked (the CLI's identity), recorded on the audit row. */
  requestedBy?: string;
}

export interface RollbackCounts {
  rolledBackFrom: string;
  /** Keys whose current row is the target's again. */
  restored: number;
  /** Keys first published after the target, taken out of the current table (lead scoring). */
  removed: number;
  modelVersion: string | null;
  modelSha256: string | null;
}

/**
 * The rollback stage: republishes `toRun`'s outputs as the current ones and records the rollback as a
 * published run of its own (kind 'rollback', naming the run), all in one transaction serialised with the
 * pipeline's publications. A retried activity finds its run published and changes nothing.
 */
export function makeRollback(deps: ActivityDeps) {
  return async function rollbackRun(input: RollbackInput): Promise<RollbackCounts> {
    assertRunId(input.runId);
    const started = Date.now();
    const { definition, sinks } = stagePipeline(deps, input.pipeline);
    const topK = definition.output.kind === 'top-k';
    return withTransaction(deps.pool, async (client) => {
      await client.query("select pg_advisory_xact_lock(hashtext('scoreflow.publish'), hashtext($1))", [input.pipeline]);
      const done = await client.query<{ rolled_back_from: string; leads_published: number; model_version: string | null; model_sha256: string | null }>(
        "select rolled_back_from, leads_published, model_version, model_sha256 from scoring.pipeline_runs where run_id = $1 and kind = 'rollback' and status = 'published'",
        [input.runId],
      );
      if (done.rows[0]) {
        const r = done.rows[0];
        return { rolledBackFrom: r.rolled_back_from, restored: r.leads_published, removed: 0, modelVersion: r.model_version, modelSha256: r.model_sha256 };
      }
      const target = await findRollbackTarget(client, { pipeline: input.pipeline, toRun: input.toRun, versioned: topK ? parseLeadsTable(definition.sinks.history) : undefined });
      const counts = topK
        ? await restoreRecsPointer(client, { pipeline: input.pipeline, target: target.run_id, versioned: sinks.history })
        : await restoreLeadScores(client, { pipeline: input.pipeline, target: target.run_id, runId: input.runId, sinks });
      await client.query(
        `insert into scoring.pipeline_runs (run_id, pipeline, as_of, temporal_run_id, status, kind, rolled_back_from, requested_by, reason,
           model_name, model_version, model_sha256, scoreflow_version, leads_extracted, chunks, leads_scored, leads_rejected, leads_published, store_ms, finished_at)
         values ($1, $2, $3, $4, 'published', 'rollback', $5, $6, $7, $8, $9, $10, $11, 0, 0, 0, 0, $12, $13, now())
         on conflict (run_id) do update set temporal_run_id = excluded.temporal_run_id, status = 'published', kind = 'rollback',
           rolled_back_from = excluded.rolled_back_from, requested_by = excluded.requested_by, reason = excluded.reason,
           model_name = excluded.model_name, model_version = excluded.model_version, model_sha256 = excluded.model_sha256,
           leads_extracted = 0, chunks = 0, leads_scored = 0, leads_rejected = 0, leads_published = excluded.leads_published, store_ms = excluded.store_ms,
           error_type = null, error_message = null, crm_status = null, updated_at = now(), finished_at = now()`,
        [input.runId, input.pipeline, input.asOf, activityInfo().workflowExecution?.runId ?? '', target.run_id, input.requestedBy ?? null, input.reason ?? null,
          target.model_name, target.model_version, target.model_sha256, SCOREFLOW_VERSION, counts.restored, Date.now() - started],
      );
      deps.log.info({ runId: input.runId, rolledBackFrom: target.run_id, ...counts }, 'rolled back');
      return { rolledBackFrom: target.run_id, ...counts, modelVersion: target.model_version, modelSha256: target.model_sha256 };
    });
  };
}
