import type { Pool } from '../db/pool.js';
import type { LeadsTable } from '../source/leads-table.js';

/** Disk used by the scoring schema (each table with its indexes and TOAST) and by the source table, in bytes. */
export interface Footprint {
  scoringBytes: number;
  /** Per table of the scoring schema, largest first. */
  tables: Record<string, number>;
  sourceBytes: number;
}

/** Reads the footprint from pg_total_relation_size: what the files take on disk now, dead rows included. */
export async function footprint(pool: Pool, source: LeadsTable): Promise<Footprint> {
  const { rows } = await pool.query<{ name: string; bytes: string }>(
    `select c.relname as name, pg_total_relation_size(c.oid) as bytes from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'scoring' and c.relkind in ('r', 'm') order by 2 desc, 1`,
  );
  const { rows: src } = await pool.query<{ bytes: string }>('select pg_total_relation_size($1::regclass) as bytes', [source.sql]);
  const tables = Object.fromEntries(rows.map((r) => [r.name, Number(r.bytes)]));
  return { scoringBytes: rows.reduce((s, r) => s + Number(r.bytes), 0), tables, sourceBytes: Number(src[0]!.bytes) };
}

/** Everything the pool's database takes on disk now (pg_database_size), in bytes. */
export async function databaseBytes(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ bytes: string }>('select pg_database_size(current_database()) as bytes');
  return Number(rows[0]!.bytes);
}

/** The size of one scoring table now, in bytes (0 when it has no rows on disk). */
export async function tableBytes(pool: Pool, table: string): Promise<number> {
  // A partitioned table (scoring.crm_outbox) takes no space itself: its partitions do.
  const { rows } = await pool.query<{ bytes: string }>(
    `select pg_total_relation_size($1::regclass)
            + coalesce((select sum(pg_total_relation_size(relid)) from pg_partition_tree($1::regclass) where level > 0), 0) as bytes`,
    [table],
  );
  return Number(rows[0]!.bytes);
}
