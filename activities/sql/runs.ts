import type { Pool, PoolClient } from '../../db/pool.js';

/** The audit row of a run, as the stages read it. */
export interface RunRow {
  run_id: string;
  pipeline: string;
  status: 'extracting' | 'scoring' | 'awaiting-approval' | 'storing' | 'published' | 'failed' | 'cancelled' | 'rejected';
  chunks: number | null;
  leads_extracted: number | null;
  model_sha256: string | null;
  model_version: string | null;
}

/** A run's status, its chunk count (null before extract) and how many of its chunks are staged. */
export interface ChunkProgress {
  status: RunRow['status'];
  chunks: number | null;
  staged_chunks: number;
}

/** The run's ChunkProgress (null without an audit row); `lock` takes its row for update. */
export async function chunkProgress(db: Pool | PoolClient, runId: string, lock = false): Promise<ChunkProgress | null> {
  const { rows } = await db.query<ChunkProgress>(
    `select status, chunks, (select count(*)::int from scoring.run_chunks c where c.run_id = r.run_id) as staged_chunks
     from scoring.pipeline_runs r where run_id = $1${lock ? ' for update' : ''}`,
    [runId],
  );
  return rows[0] ?? null;
}

export interface RunStart {
  runId: string;
  pipeline: string;
  asOf: string;
  full: boolean;
  temporalRunId: string;
  modelName: string;
  modelVersion: string;
  modelSha256: string;
  scoreflowVersion: string;
}

/**
 * Creates the run's audit row, or takes it over on a rerun: a published run stays published, any other
 * state restarts at extracting with the error cleared. Returns the row as it was before (null if new).
 * Attempts at the same run wait for each other until commit (a lock on the run id, since a new run has no
 * row to lock yet), so a second attempt finds the first one's snapshot instead of writing another.
 */
export async function beginRun(client: PoolClient, r: RunStart): Promise<RunRow | null> {
  await client.query("select pg_advisory_xact_lock(hashtext('scoreflow.extract'), hashtext($1))", [r.runId]);
  const before = await client.query<RunRow>(
    'select run_id, pipeline, status, chunks, leads_extracted, model_sha256, model_version from scoring.pipeline_runs where run_id = $1 for update',
    [r.runId],
  );
  await client.query(
    `insert into scoring.pipeline_runs
       (run_id, pipeline, as_of, full_refresh, temporal_run_id, status, model_name, model_version, model_sha256, scoreflow_version)
     values ($1, $2, $3, $4, $5, 'extracting', $6, $7, $8, $9)
     on conflict (run_id) do update set
       temporal_run_id = excluded.temporal_run_id,
       status = case when pipeline_runs.status = 'published' then 'published' else 'extracting' end,
       error_type = case when pipeline_runs.status = 'published' then pipeline_runs.error_type end,
       error_message = case when pipeline_runs.status = 'published' then pipeline_runs.error_message end,
       cancelled_by = null, cancel_reason = null, cancelled_at = null,
       updated_at = now()`,
    [r.runId, r.pipeline, r.asOf, r.full, r.temporalRunId, r.modelName, r.modelVersion, r.modelSha256, r.scoreflowVersion],
  );
  return before.rows[0] ?? null;
}

/** Forgets a run's snapshot and staged work (a top-k run's rows in its versioned table included; it never published) so that it can be extracted again (the model changed). */
export async function resetRun(client: PoolClient, runId: string, model: { name: string; version: string; sha256: string }): Promise<void> {
  for (const table of ['run_leads', 'run_chunks', 'staged_scores', 'rejected_leads']) {
    await client.query(`delete from scoring.${table} where run_id = $1`, [runId]);
  }
  for (const table of ['staged_recommendations', 'customer_recommendations', 'short_recommendations', 'popular_products']) {
    await client.query(`delete from recs.${table} where run_id = $1`, [runId]);
  }
  await client.query(
    `update scoring.pipeline_runs set chunks = null, leads_extracted = null, leads_scored = null, leads_rejected = null,
       model_name = $2, model_version = $3, model_sha256 = $4 where run_id = $1`,
    [runId, model.name, model.version, model.sha256],
  );
}

export async function getRun(db: Pool | PoolClient, runId: string): Promise<RunRow | null> {
  const { rows } = await db.query<RunRow>(
    'select run_id, pipeline, status, chunks, leads_extracted, model_sha256, model_version from scoring.pipeline_runs where run_id = $1',
    [runId],
  );
  return rows[0] ?? null;
}

/**
 * Records a failure on the audit row (creating it if the run failed before extract wrote it). A published
 * run stays published; nothing but its CRM stage runs after publication, so a stage that had not finished
 * is marked crm_status 'failed' (reopenFailedCrmStage undoes that when the stage runs again).
 */
export async function recordFailure(
  db: Pool,
  f: { runId: string; pipeline: string; asOf: string; temporalRunId: string; errorType: string; message: string; scoreflowVersion: string },
): Promise<void> {
  await db.query(
    `insert into scoring.pipeline_runs (run_id, pipeline, as_of, temporal_run_id, status, scoreflow_version, error_type, error_message, finished_at)
     values ($1, $2, $3, $4, 'failed', $5, $6, $7, now())
     on conflict (run_id) do update set
       status = case when pipeline_runs.status = 'published' then 'published' else 'failed' end,
       crm_status = case when pipeline_runs.status = 'published' and coalesce(pipeline_runs.crm_status, 'sending') = 'sending' then 'failed'
                         else pipeline_runs.crm_status end,
       error_type = excluded.error_type, error_message = excluded.error_message,
       temporal_run_id = excluded.temporal_run_id, updated_at = now(), finished_at = now()`,
    [f.runId, f.pipeline, f.asOf, f.temporalRunId, f.scoreflowVersion, f.errorType, f.message],
  );
}

/** A failed or cancelled CRM stage that runs again (rerun or reset) goes on sending its planned outbox, or plans one if it stopped before planning. */
export async function reopenFailedCrmStage(db: Pool | PoolClient, runId: string): Promise<void> {
  await db.query(
    `update scoring.pipeline_runs set crm_status = case when crm_started_at is null then null else 'sending' end, updated_at = now()
     where run_id = $1 and crm_status in ('failed', 'cancelled')`,
    [runId],
  );
}

/**
 * Records a cancelled run with who asked and why. A published run stays published (publication is
 * all or nothing): its CRM stage, if it had not finished, is marked cancelled instead.
 */
export async function recordCancellation(
  db: Pool,
  c: { runId: string; pipeline: string; asOf: string; temporalRunId: string; cancelledBy: string | null; reason: string | null; scoreflowVersion: string },
): Promise<void> {
  await db.query(
    `insert into scoring.pipeline_runs (run_id, pipeline, as_of, temporal_run_id, status, scoreflow_version, cancelled_by, cancel_reason, cancelled_at, finished_at)
     values ($1, $2, $3, $4, 'cancelled', $5, $6, $7, now(), now())
     on conflict (run_id) do update set
       status = case when pipeline_runs.status = 'published' then 'published' else 'cancelled' end,
       crm_status = case when pipeline_runs.status = 'published' and coalesce(pipeline_runs.crm_status, 'sending') = 'sending' then 'cancelled'
                         else pipeline_runs.crm_status end,
       cancelled_by = excluded.cancelled_by, cancel_reason = excluded.cancel_reason, cancelled_at = now(),
       temporal_run_id = excluded.temporal_run_id, updated_at = now(), finished_at = now()`,
    [c.runId, c.pipeline, c.asOf, c.temporalRunId, c.scoreflowVersion, c.cancelledBy, c.reason],
  );
}
