import type { Pool } from '../../db/pool.js';

/** One change of a pipeline's champion or challenger, as scoring.model_changes keeps it. */
export interface ModelChange {
  pipeline: string;
  action: 'challenger' | 'promote' | 'clear-challenger';
  modelVersion?: string;
  modelSha256?: string;
  previousSha256?: string;
  actor: string;
}

/** Records who changed which model slot of a pipeline, and to what. */
export async function recordModelChange(pool: Pool, c: ModelChange): Promise<void> {
  await pool.query(
    `insert into scoring.model_changes (pipeline, action, model_version, model_sha256, previous_sha256, actor)
     values ($1, $2, $3, $4, $5, $6)`,
    [c.pipeline, c.action, c.modelVersion ?? null, c.modelSha256 ?? null, c.previousSha256 ?? null, c.actor],
  );
}

/** The pipeline's latest model changes, newest first. */
export async function recentModelChanges(pool: Pool, pipeline: string, limit = 10): Promise<Array<ModelChange & { at: Date }>> {
  const { rows } = await pool.query<ModelChange & { at: Date }>(
    `select pipeline, action, model_version as "modelVersion", model_sha256 as "modelSha256", previous_sha256 as "previousSha256", actor, at
     from scoring.model_changes where pipeline = $1 order by at desc, id desc limit $2`,
    [pipeline, limit],
  );
  return rows;
}
