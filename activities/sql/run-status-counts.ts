import type { Pool } from '../../db/pool.js';

/** Runs per pipeline and current status, with the age of the oldest one's last change. */
export interface RunStatusCount {
  pipeline: string;
  status: string;
  runs: number;
  oldest_seconds: number;
}

const FINAL = ['published', 'failed', 'cancelled', 'rejected'];

/** Runs changed in the last `days` days, and every unfinished run however old, grouped by pipeline and status. */
export async function runStatusCounts(pool: Pool, days: number): Promise<RunStatusCount[]> {
  const { rows } = await pool.query<RunStatusCount>(
    `select pipeline, status, count(*)::int as runs, extract(epoch from now() - min(updated_at))::float8 as oldest_seconds
     from scoring.pipeline_runs
     where updated_at > now() - make_interval(days => $1) or status <> all($2::text[])
     group by pipeline, status`,
    [days, FINAL],
  );
  return rows;
}
