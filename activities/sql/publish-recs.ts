import type { PoolClient } from '../../db/pool.js';
import type { PublishCounts, SinkTables } from './publish-run.js';

/** The channel a top-k publication notifies at commit (payload: `{"pipeline", "runId"}`); `scoreflow serve` listens on it. */
export const RECS_PUBLISHED_CHANNEL = 'scoreflow_recs_published';

/**
 * Publishes a fully scored top-k run inside the caller's transaction: its rows are already in the
 * versioned table (`sinks.history`, recs.customer_recommendations; chunks stage into it), so
 * recs.published_run points the readers' view at it, rows of the pipeline's published runs beyond the last
 * `keepRuns` are deleted and the audit row is marked published. Readers see the previous run's complete
 * set until commit. Rows a run staged into recs.staged_recommendations (before chunks staged into the
 * versioned table) are moved over first. At commit PostgreSQL delivers the NOTIFY on RECS_PUBLISHED_CHANNEL
 * to listening services (none if the transaction rolls back).
 */
export async function publishRecsRun(
  client: PoolClient,
  p: { runId: string; pipeline: string; sinks: SinkTables; keepRuns: number; storeStartedAt: number },
): Promise<PublishCounts> {
  const { runId, pipeline, sinks } = p;
  const legacy = await client.query(
    `insert into ${sinks.history} (run_id, customer_id, rank, product_id, score, source, model_version, model_sha256, generated_at)
     select s.run_id, s.customer_id, s.rank, s.product_id, s.score, s.source, r.model_version, r.model_sha256, s.generated_at
     from recs.staged_recommendations s join scoring.pipeline_runs r using (run_id)
     where s.run_id = $1`,
    [runId],
  );
  if (legacy.rowCount) await client.query('delete from recs.staged_recommendations where run_id = $1', [runId]);
  await client.query(
    `insert into recs.published_run (pipeline, run_id) values ($1, $2)
     on conflict (pipeline) do update set run_id = excluded.run_id, published_at = now()`,
    [pipeline, runId],
  );
  await client.query('select pg_notify($1, $2)', [RECS_PUBLISHED_CHANNEL, JSON.stringify({ pipeline, runId })]);
  const { rows } = await client.query<{ published: number; scored: number; rejected: number }>(
    `select (select count(*)::int from ${sinks.history} where run_id = $1 and rank = 1) as published,
            (select coalesce(sum(scored), 0)::int from scoring.run_chunks where run_id = $1) as scored,
            (select count(*)::int from scoring.rejected_leads where run_id = $1) as rejected`,
    [runId],
  );
  const counts = rows[0]!;
  await client.query(
    `update scoring.pipeline_runs set status = 'published', leads_scored = $2, leads_rejected = $3, leads_published = $4,
       store_ms = $5, updated_at = now(), finished_at = now(), error_type = null, error_message = null
     where run_id = $1`,
    [runId, counts.scored, counts.rejected, counts.published, Date.now() - p.storeStartedAt],
  );
  await client.query(
    `delete from ${sinks.history} c
     where c.run_id in (select run_id from scoring.pipeline_runs where pipeline = $1 and status = 'published' and kind = 'run')
       and c.run_id not in (select run_id from scoring.pipeline_runs where pipeline = $1 and status = 'published' and kind = 'run'
                            order by finished_at desc, run_id desc limit $2)`,
    [pipeline, p.keepRuns],
  );
  return counts;
}
