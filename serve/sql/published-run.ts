import type { Pool } from '../../db/pool.js';

/** The run a recommender pipeline's readers see (recs.published_run) and the model that made it. */
export interface PublishedRun {
  runId: string;
  modelSha256: string;
  modelVersion: string;
}

/** Reads the published pointer of `pipeline` with its run's model: one indexed row, cheap enough to poll every few seconds. */
export async function readPublishedRun(pool: Pool, pipeline: string): Promise<PublishedRun | undefined> {
  const { rows } = await pool.query<{ run_id: string; model_sha256: string; model_version: string }>(
    `select p.run_id, r.model_sha256, r.model_version
     from recs.published_run p join scoring.pipeline_runs r using (run_id)
     where p.pipeline = $1`,
    [pipeline],
  );
  const row = rows[0];
  return row && { runId: row.run_id, modelSha256: row.model_sha256, modelVersion: row.model_version };
}

/** A run's popularity list (recs.popular_products), best first: what customers without purchases get. */
export async function readPopularList(pool: Pool, runId: string): Promise<Array<{ productId: string; purchases: number }>> {
  const { rows } = await pool.query<{ product_id: string; purchases: number }>(
    'select product_id::text as product_id, purchases from recs.popular_products where run_id = $1 order by rank',
    [runId],
  );
  return rows.map((r) => ({ productId: r.product_id, purchases: r.purchases }));
}
