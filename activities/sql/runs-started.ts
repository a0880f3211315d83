import type { Pool } from '../../db/pool.js';

/** Which of these run ids have an audit row, i.e. whose run got as far as its extract stage. */
export async function runsStarted(pool: Pool, runIds: string[]): Promise<Set<string>> {
  const { rows } = await pool.query<{ run_id: string }>('select run_id from scoring.pipeline_runs where run_id = any($1::text[])', [runIds]);
  return new Set(rows.map((r) => r.run_id));
}
