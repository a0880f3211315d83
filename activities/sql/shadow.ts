import type { Pool, PoolClient } from '../../db/pool.js';

/** A run's challenger, as pinned in scoring.shadow_runs. */
export interface ShadowRun {
  run_id: string;
  pipeline: string;
  model_name: string;
  model_version: string;
  model_sha256: string;
  chunks: number;
  chunks_done: number;
  finished_at: Date | null;
}

/** Pins the challenger for a run, unless the run already has one pinned (a retried or rerun run keeps it); returns the pinned row. */
export async function pinShadowRun(
  client: Pool | PoolClient,
  p: { runId: string; pipeline: string; modelName: string; modelVersion: string; modelSha256: string; chunks: number },
): Promise<ShadowRun> {
  await client.query(
    `insert into scoring.shadow_runs (run_id, pipeline, model_name, model_version, model_sha256, chunks)
     values ($1, $2, $3, $4, $5, $6) on conflict (run_id) do nothing`,
    [p.runId, p.pipeline, p.modelName, p.modelVersion, p.modelSha256, p.chunks],
  );
  return (await shadowRun(client, p.runId))!;
}

/** A run's shadow row with how many chunks the challenger has scored. */
export async function shadowRun(client: Pool | PoolClient, runId: string): Promise<ShadowRun | undefined> {
  const { rows } = await client.query<ShadowRun>(
    `select s.*, (select count(*)::int from scoring.shadow_chunks c where c.run_id = s.run_id) as chunks_done
     from scoring.shadow_runs s where run_id = $1`,
    [runId],
  );
  return rows[0];
}

/** The latest run of a pipeline the challenger scored, for `models compare` without --run. */
export async function latestShadowRun(pool: Pool, pipeline: string): Promise<string | undefined> {
  const { rows } = await pool.query<{ run_id: string }>(
    'select run_id from scoring.shadow_runs where pipeline = $1 order by started_at desc, run_id desc limit 1',
    [pipeline],
  );
  return rows[0]?.run_id;
}

/** Takes the chunk's lock and says whether the challenger already scored it. */
export async function lockShadowChunk(client: PoolClient, runId: string, chunk: number): Promise<boolean> {
  await client.query("select pg_advisory_xact_lock(hashtext('scoreflow.shadow'), hashtext($1 || ':' || $2::text))", [runId, chunk]);
  const { rows } = await client.query('select 1 from scoring.shadow_chunks where run_id = $1 and chunk = $2', [runId, chunk]);
  return rows.length > 0;
}

/** Writes a chunk's challenger scores (one array statement) and marks the chunk, in the caller's transaction. */
export async function writeShadowScores(
  client: PoolClient,
  p: { runId: string; chunk: number; modelSha256: string; leadIds: string[]; score: ArrayLike<number>; bucket: string[] },
): Promise<void> {
  await client.query(
    `insert into scoring.shadow_scores (run_id, lead_id, score, bucket, model_sha256)
     select $1, lead_id, score, bucket, $2 from unnest($3::bigint[], $4::float8[], $5::text[]) as s(lead_id, score, bucket)
     on conflict do nothing`,
    [p.runId, p.modelSha256, p.leadIds, Array.from(p.score), p.bucket],
  );
  await markShadowChunk(client, p.runId, p.chunk, p.leadIds.length);
}

/** Writes a chunk's challenger recommendations (one array statement) and marks the chunk, in the caller's transaction. */
export async function writeShadowRecs(
  client: PoolClient,
  p: { runId: string; chunk: number; modelSha256: string; recs: Array<{ customerId: string; source: string; items: Array<{ productId: string; score: number }> }> },
): Promise<void> {
  const rows = p.recs.flatMap((r) => r.items.map((item, i) => [r.customerId, i + 1, item.productId, item.score, r.source] as const));
  await client.query(
    `insert into recs.shadow_recommendations (run_id, customer_id, rank, product_id, score, source, model_sha256)
     select $1, customer_id, rank, product_id, score, source, $2
     from unnest($3::bigint[], $4::int[], $5::bigint[], $6::float4[], $7::text[]) as s(customer_id, rank, product_id, score, source)
     on conflict do nothing`,
    [p.runId, p.modelSha256, rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]), rows.map((r) => r[3]), rows.map((r) => r[4])],
  );
  await markShadowChunk(client, p.runId, p.chunk, p.recs.length);
}

/** Marks the chunk scored, and the shadow run finished once every chunk is (the row lock orders concurrent last chunks). */
async function markShadowChunk(client: PoolClient, runId: string, chunk: number, scored: number): Promise<void> {
  await client.query('insert into scoring.shadow_chunks (run_id, chunk, scored) values ($1, $2, $3) on conflict do nothing', [runId, chunk, scored]);
  // Not FOR UPDATE: that would wait on the key-share locks the chunks' foreign keys hold, and deadlock.
  await client.query('select 1 from scoring.shadow_runs where run_id = $1 for no key update', [runId]);
  await client.query(
    `update scoring.shadow_runs set finished_at = now()
     where run_id = $1 and finished_at is null and chunks <= (select count(*) from scoring.shadow_chunks where run_id = $1)`,
    [runId],
  );
}
