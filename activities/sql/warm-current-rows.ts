import type { Pool, PoolClient } from '../../db/pool.js';
import { quoteColumn, type LeadsTable } from '../../source/leads-table.js';

/**
 * Reads the current rows of the source rows changed after `since` (at most `limit`, a chunk: more are not a
 * one-chunk morning): the rows a morning's publish rewrites. On a
 * second connection while the morning's snapshot runs on the first, this prunes the row versions the last run
 * left on their pages and, after a checkpoint, logs each page's full image: work the publish's upsert otherwise
 * does in line. One probe of the key's index per row (a LATERAL with LIMIT is never turned into a hash join).
 * bench:mornings after a checkpoint, alternating, two runs each (slow hour): store 65-89 ms against 150-199, extract
 * 81-107 ms against 63-75, mornings 278-333 ms against 308-413.
 */
export async function warmCurrentRows(db: Pool | PoolClient, p: { current: string; table: LeadsTable; since: Date; limit: number }): Promise<number> {
  const key = quoteColumn(p.table.columns.key);
  const change = quoteColumn(p.table.columns.change);
  const { rows } = await db.query<{ rows: number }>(
    `select count(*)::int as rows from (select ${key} as k from ${p.table.sql} where ${change} > $1 limit $2) l,
       lateral (select 1 from ${p.current} c where c.lead_id = l.k limit 1) c`,
    [p.since, p.limit],
  );
  return rows[0]!.rows;
}
